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
