using System.Diagnostics;

namespace OllamaSim.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Parses_every_flag_and_passes_the_rest_to_the_host()
    {
        var parsed = CommandLine.Parse([
            "--parallel", "4", "--time-scale=0.01", "--speed", "2", "--scaling-exponent", "1",
            "--model", "qwen2:1.5b", "--model", "llama3.2", "--seed", "7",
            "--error-rate", "0.1", "--unavailable-rate", "0.2", "--hang-rate", "0.01",
            "--midstream-error-rate", "0.05", "--no-done-rate", "0.02", "--load-delay", "500ms",
            "--fail-prompt-contains", "Lyon", "--urls", "http://127.0.0.1:5000",
        ]);

        var o = parsed.Options;
        Assert.Equal((4, 0.01, 2.0, 1.0, 7), (o.Parallel, o.TimeScale, o.Speed, o.ScalingExponent, o.Seed));
        Assert.Equal(["qwen2:1.5b", "llama3.2:latest"], o.EffectiveModels);
        var f = o.Faults;
        Assert.Equal((0.1, 0.2, 0.01, 0.05, 0.02), (f.ErrorRate, f.UnavailableRate, f.HangRate, f.MidStreamErrorRate, f.NoDoneRate));
        Assert.Equal(TimeSpan.FromMilliseconds(500), f.LoadDelay);
        Assert.Equal("Lyon", f.FailPromptContains);
        Assert.Equal(["--urls", "http://127.0.0.1:5000"], parsed.HostArgs);
        Assert.False(parsed.ShowHelp);
    }

    [Fact]
    public void Parses_the_openai_mode_flags_with_a_gpu_exponent_unless_one_is_given()
    {
        var o = CommandLine.Parse([
            "--api", "OpenAI", "--flavor", "llamacpp", "--kv-seqs", "8", "--max-num-seqs", "4", "--api-key", "sk-1",
            "--model", "Qwen/Qwen2.5-1.5B-Instruct",
        ]).Options;

        Assert.Equal((SimulatorApi.OpenAI, ServerFlavor.LlamaCpp, 8, 4, "sk-1"), (o.Api, o.Flavor, o.KvSeqs, o.MaxNumSeqs, o.ApiKey));
        Assert.Equal(4, o.Slots); // min(kv-seqs, max-num-seqs)
        Assert.Equal(0.9, o.ScalingExponent);
        Assert.Equal(["Qwen/Qwen2.5-1.5B-Instruct"], o.EffectiveModels); // served names are matched exactly, as in vLLM
        Assert.Equal(0.5, CommandLine.Parse(["--api", "openai", "--scaling-exponent", "0.5"]).Options.ScalingExponent);
        Assert.Equal((SimulatorApi.Ollama, 0.32, 1), (CommandLine.Parse([]).Options.Api, CommandLine.Parse([]).Options.ScalingExponent, CommandLine.Parse([]).Options.Slots));
    }

    [Fact]
    public void Parses_the_capacity_cliff_schema_fault_and_request_log_flags()
    {
        var o = CommandLine.Parse([
            "--cliff-at", "4", "--cliff-slope=0.2", "--cliff-floor", "0.25", "--schema-violation-rate", "0.3", "--request-log-size", "10",
        ]).Options;

        Assert.Equal((4, 0.2, 0.25), (o.CliffAt, o.CliffSlope, o.CliffFloor));
        Assert.Equal(new CapacityCurve { ScalingExponent = 0.32, CliffAt = 4, CliffSlope = 0.2, CliffFloor = 0.25 }, o.Curve);
        Assert.Equal(0.3, o.Faults.SchemaViolationRate);
        Assert.Equal(10, o.RequestLogCapacity);
    }

    [Fact]
    public void Flags_stay_case_insensitive_and_host_arguments_keep_their_case()
    {
        var parsed = CommandLine.Parse(["--Parallel", "3", "--TIME-SCALE=0.5", "--Logging:LogLevel:Default=Debug", "--urls=http://127.0.0.1:5000"]);

        Assert.Equal((3, 0.5), (parsed.Options.Parallel, parsed.Options.TimeScale));
        Assert.Equal(["--Logging:LogLevel:Default=Debug", "--urls=http://127.0.0.1:5000"], parsed.HostArgs);
    }

    [Fact]
    public void Help_is_recognised_and_the_usage_lists_every_flag()
    {
        Assert.True(CommandLine.Parse(["--help"]).ShowHelp);
        Assert.True(CommandLine.Parse(["-h"]).ShowHelp);

        foreach (var flag in new[]
        {
            "--parallel", "--time-scale", "--speed", "--scaling-exponent", "--cliff-at", "--cliff-slope", "--cliff-floor", "--model",
            "--seed", "--request-log-size", "--error-rate", "--unavailable-rate", "--hang-rate", "--midstream-error-rate",
            "--no-done-rate", "--schema-violation-rate", "--load-delay", "--fail-prompt-contains", "--api", "--flavor", "--kv-seqs",
            "--max-num-seqs", "--api-key", "--help",
        })
        {
            Assert.Contains(flag, CommandLine.Usage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("cliff-at", "--cliff-at", "0")]
    [InlineData("cliff-slope", "--cliff-slope", "-0.1")]
    [InlineData("cliff-floor", "--cliff-floor", "0")]
    [InlineData("schema-violation-rate", "--schema-violation-rate", "2")]
    [InlineData("request-log-size", "--request-log-size", "-1")]
    [InlineData("not a number", "--speed", "fast")]
    [InlineData("'graphql' is not one of ollama, openai", "--api", "graphql")]
    [InlineData("'tgi' is not one of vllm, sglang, llamacpp, plain", "--flavor", "tgi")]
    [InlineData("kv-seqs must be at least 1", "--api", "openai", "--kv-seqs", "0")]
    [InlineData("max-num-seqs must be at least 1", "--max-num-seqs", "0")]
    [InlineData("kv-seqs and api-key need --api openai", "--kv-seqs", "4")]
    [InlineData("kv-seqs and api-key need --api openai", "--api-key", "sk")]
    [InlineData("--seed needs a value", "--seed")]
    [InlineData("expects a single argument", "--parallel", "2", "--parallel", "3")]
    public void Bad_new_values_give_a_clear_error(string expectedFragment, params string[] args)
    {
        var ex = Assert.Throws<ArgumentException>(() => CommandLine.Parse(args));
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task The_program_prints_a_one_line_error_and_the_usage_and_exits_2()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepoPaths.BuiltProgram("OllamaSim", "OllamaSim"), "--parallel", "0" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        var lines = (await stderr).Split('\n');
        Assert.Equal("OllamaSim: parallel must be at least 1 (got 0)", lines[0]);
        Assert.Equal("", lines[1]);
        Assert.Contains("--cliff-at", await stderr, StringComparison.Ordinal);
        Assert.Equal("", await stdout);
    }

    [Fact]
    public void Defaults_match_a_single_slot_cpu_ollama()
    {
        var o = CommandLine.Parse([]).Options;

        Assert.Equal((1, 1.0, 1.0, 0.32), (o.Parallel, o.TimeScale, o.Speed, o.ScalingExponent));
        Assert.Equal(["qwen2:1.5b"], o.EffectiveModels);
        Assert.Equal(new FaultOptions(), o.Faults);
    }

    [Theory]
    [InlineData("2s", 2000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5", 1500)]
    [InlineData("1m", 60000)]
    public void Durations_accept_units_and_plain_seconds(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Durations.Parse(text));

    [Theory]
    [InlineData("parallel", "--parallel", "-1")]
    [InlineData("parallel", "--parallel", "0")]
    [InlineData("not a whole number", "--parallel", "two")]
    [InlineData("time-scale", "--time-scale", "-0.5")]
    [InlineData("speed", "--speed", "0")]
    [InlineData("error-rate", "--error-rate", "1.5")]
    [InlineData("not a duration", "--load-delay", "soon")]
    [InlineData("needs a value", "--model")]
    public void Bad_values_give_a_clear_error(string expectedFragment, params string[] args)
    {
        var ex = Assert.Throws<ArgumentException>(() => CommandLine.Parse(args));
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
    }
}
