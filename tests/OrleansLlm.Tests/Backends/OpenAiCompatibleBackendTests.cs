using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OllamaSim;
using OrleansLlm.Inference;
using OrleansLlm.OpenAiCompatible;
using OrleansLlm.Telemetry;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Backends;

/// <summary>
/// The OpenAI-compatible backend against a simulator in OpenAI mode, over real HTTP: what it sends, what its answers
/// say about the server's queue for each kind of server, and how its failures are classed.
/// </summary>
[Trait("Category", "Unit")]
public sealed class OpenAiCompatibleBackendTests(ITestOutputHelper output)
{
    private static InferenceRequest Question(string model, string city = "Paris") => new(model, $"Who is the mayor of {city}?", Messages: null);

    /// <summary>
    /// Six questions at once to a server with room for two: four wait, and each flavor's answers say so in their own
    /// way (llama.cpp's timings, the waiting gauge of vLLM and SGLang), or, from a server that tells nothing, not at all.
    /// </summary>
    [Theory]
    [InlineData(ServerFlavor.Vllm, QueueSignal.ServerGauge)]
    [InlineData(ServerFlavor.Sglang, QueueSignal.ServerGauge)]
    [InlineData(ServerFlavor.LlamaCpp, QueueSignal.Durations)]
    [InlineData(ServerFlavor.Plain, QueueSignal.None)]
    public async Task MoreInFlightThanTheServerRuns_EachFlavorsAnswers_CarryItsSignalAndTheWait(ServerFlavor flavor, QueueSignal signal)
    {
        // ~250 ms a request alone.
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, Flavor = flavor, KvSeqs = 2, TimeScale = 0.02 });
        await using var host = await OpenAiBackendHost.StartAsync(simulator);
        var backend = host.Backend;

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => backend.GenerateAsync(Question(backend.Model, $"Town{i}"), CancellationToken.None)));

        foreach (var answer in answers)
        {
            output.WriteLine($"{flavor}: {answer.Signal}, total {answer.TotalDuration.TotalMilliseconds:F0} ms, wait {answer.QueueWait.TotalMilliseconds:F0} ms, " +
                $"prompt {answer.PromptEvalDuration.TotalMilliseconds:F0} ms, eval {answer.EvalDuration.TotalMilliseconds:F0} ms, tokens {answer.PromptEvalCount}+{answer.EvalCount}");
        }

        Assert.All(answers, a => Assert.Equal(signal, a.Signal));
        Assert.All(answers, a => Assert.True(a.EvalCount > 0 && a.PromptEvalCount > 0, "usage read"));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => SimulatedModel.AnswerFor($"Who is the mayor of Town{i}?").Trim()), answers.Select(a => a.Text.Trim()));
        if (signal == QueueSignal.None)
        {
            Assert.All(answers, a => Assert.Equal(TimeSpan.Zero, a.QueueWait));
        }
        else
        {
            // Four of six waited behind the two the server runs; the wait never exceeds the call.
            Assert.True(answers.Count(a => a.QueueWait > TimeSpan.Zero) >= 2, "some answers waited");
            Assert.All(answers, a => Assert.InRange(a.QueueWait, TimeSpan.Zero, a.TotalDuration));
        }
    }

    [Fact]
    public async Task ServerWithoutMetrics_IsSaidOnce_NotOnEveryRead()
    {
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, Flavor = ServerFlavor.Plain, TimeScale = 0 });
        var reads = new CountingHandler();
        var warnings = new WarningCounter();
        await using var host = await OpenAiBackendHost.StartAsync(simulator, configure: services =>
        {
            services.AddHttpClient(ServerQueueReader.HttpClientName).AddHttpMessageHandler(() => reads);
            services.AddLogging(logging => logging.AddProvider(warnings));
        });

        await Eventually.TrueAsync(() => reads.Sent >= 10, "10 reads of /metrics", describe: () => Task.FromResult($"{reads.Sent} reads"));

        var said = Assert.Single(warnings.Of(typeof(ServerQueueReader).FullName!));
        output.WriteLine(said);
        Assert.Contains("answered HTTP 404", said);
        Assert.Null(host.Queue.Latest);
    }

    [Fact]
    public async Task Readings_GoOn_AfterTheTransportThrowsWhatHttpClientDoesNotWrap()
    {
        // CI met it once: a SocketException out of HttpClient ended the reader's loop, and no reading came again.
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, TimeScale = 0 });
        var broken = new BrokenTransportHandler(failures: 3);
        await using var host = await OpenAiBackendHost.StartAsync(simulator, configure: services =>
            services.AddHttpClient(ServerQueueReader.HttpClientName).AddHttpMessageHandler(() => broken));

        await Eventually.TrueAsync(() => host.Queue.Latest is not null, "a reading of the server's queue after 3 broken reads",
            describe: () => Task.FromResult($"{broken.Failed} reads sent"));

        Assert.True(broken.Failed > 3, $"{broken.Failed} reads sent");
    }

    [Fact]
    public async Task BatchOptionsAndSchema_ReachTheServer_AsOpenAiFields_AndACutAnswerSaysLength()
    {
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, TimeScale = 0 });
        await using var host = await OpenAiBackendHost.StartAsync(simulator);
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"mayor":{"type":"string"}},"required":["mayor"]}""").RootElement;
        var options = new GenerationOptions(Temperature: 0.5, Seed: 7, NumCtx: 4096, NumPredict: 3, Stop: ["\n\n"], TopP: 0.9);

        var answer = await host.Backend.GenerateAsync(Question(host.Backend.Model) with { System = "Be brief.", Options = options, Format = schema }, CancellationToken.None);

        var body = simulator.GetRequests().Requests.Single(r => r.Path == "/v1/chat/completions").Body!.Value;
        output.WriteLine(body.GetRawText());
        Assert.Equal("qwen2:1.5b", body.GetProperty("model").GetString());
        Assert.Equal(["system", "user"], body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(7, body.GetProperty("seed").GetInt32());
        Assert.Equal(3, body.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal(["\n\n"], body.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
        Assert.False(body.TryGetProperty("stream", out var stream) && stream.GetBoolean());
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal(schema.GetRawText(), format.GetProperty("json_schema").GetProperty("schema").GetRawText());
        // num_ctx has no per-request field in the API: not sent.
        Assert.False(body.TryGetProperty("num_ctx", out _));
        Assert.Equal("length", answer.DoneReason);
        Assert.Equal(3, answer.EvalCount);
    }

    [Fact]
    public async Task JsonFormat_IsAskedAsJsonObject_AndAVllmStyleIdIsSentAsTheServerNamesIt()
    {
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, TimeScale = 0, Models = ["Qwen/Qwen2-1.5B-Instruct"] });
        await using var host = await OpenAiBackendHost.StartAsync(simulator);

        // As a batch stores it: tagged the way Ollama names models.
        await host.Backend.GenerateAsync(Question(ModelNames.WithTag("Qwen/Qwen2-1.5B-Instruct")) with { Format = JsonDocument.Parse("\"json\"").RootElement }, CancellationToken.None);

        var body = simulator.GetRequests().Requests.Single(r => r.Path == "/v1/chat/completions").Body!.Value;
        Assert.Equal("Qwen/Qwen2-1.5B-Instruct", body.GetProperty("model").GetString());
        Assert.Equal("json_object", body.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal(["Qwen/Qwen2-1.5B-Instruct"], await host.Backend.ListModelsAsync(CancellationToken.None));
        Assert.True((await host.Backend.ProbeAsync(CancellationToken.None)).IsHealthy);
    }

    [Fact]
    public async Task ApiKey_IsSentAsBearer_AndAServerRefusingItAnswers401()
    {
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, TimeScale = 0, ApiKey = "secret" });
        await using var right = await OpenAiBackendHost.StartAsync(simulator);
        await using var wrong = await OpenAiBackendHost.StartAsync(simulator, new Dictionary<string, string?> { ["Backend:ApiKey"] = "wrong" });

        Assert.False(string.IsNullOrEmpty((await right.Backend.GenerateAsync(Question(right.Backend.Model), CancellationToken.None)).Text));
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrong.Backend.GenerateAsync(Question(wrong.Backend.Model), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(FailureReasons.OllamaHttp4xx, BackendFailureReasons.Of(refused));
    }

    public static TheoryData<string, string> Faults => new()
    {
        { "error", FailureReasons.OllamaHttp5xx },
        { "unavailable", FailureReasons.OllamaHttp5xx },
        { "model-deleted", FailureReasons.OllamaHttp4xx },
        { "hang", FailureReasons.Timeout },
        { "stopped", FailureReasons.OllamaUnreachable },
    };

    /// <summary>The SDK's failures reach the worker as Ollama's do, so they are classed (and retried or not) alike.</summary>
    [Theory]
    [MemberData(nameof(Faults))]
    public async Task EachFailure_HasTheReasonOllamasHas(string fault, string reason)
    {
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Api = SimulatorApi.OpenAI, TimeScale = 0 });
        // A second only where the server hangs: elsewhere a loaded machine's first call through the SDK (its JIT, the
        // connection) took longer than that, and a 503 was classed as the timeout.
        var timeout = fault == "hang" ? "00:00:01" : "00:00:30";
        await using var host = await OpenAiBackendHost.StartAsync(simulator, new Dictionary<string, string?> { ["Backend:RequestTimeout"] = timeout });
        switch (fault)
        {
            case "error": simulator.UpdateFaults(f => f with { ErrorRate = 1 }); break;
            case "unavailable": simulator.UpdateFaults(f => f with { UnavailableRate = 1 }); break;
            case "hang": simulator.UpdateFaults(f => f with { HangRate = 1 }); break;
            case "model-deleted": simulator.DeleteModel("qwen2:1.5b"); break;
            case "stopped": await simulator.StopAsync(); break;
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.Backend.GenerateAsync(Question(host.Backend.Model), CancellationToken.None));

        output.WriteLine($"{fault}: {error.GetType().Name}: {error.Message}");
        Assert.Equal(reason, BackendFailureReasons.Of(error));
        if (fault != "stopped")
        {
            // Asked once: the SDK's own retries are off, the queue retries the item.
            Assert.Single(simulator.GetRequests().Requests, r => r.Path == "/v1/chat/completions");
        }
    }
}
