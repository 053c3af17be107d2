using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;
using Xunit.Abstractions;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Backends;

/// <summary>
/// The Ollama backend against a simulated Ollama over real HTTP: the fields a question reaches Ollama with, the answer
/// read back from its one JSON object, and a refusal's shape; and the answer reader on bodies Ollama would never send.
/// </summary>
[Trait("Category", "Unit")]
public sealed class OllamaBackendTests(ITestOutputHelper output) : IAsyncLifetime
{
    private SimulatorServer _simulator = null!;
    private ServiceProvider _services = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0 });
        _services = new ServiceCollection().AddMetrics().AddSingleton<InferenceMetrics>().BuildServiceProvider();
        _http = new HttpClient { BaseAddress = _simulator.Url };
    }

    [Fact]
    public async Task APrompt_ReachesGenerate_WithSystemOptionsNumThreadAndSchema_AndTheAnswerIsReadWhole()
    {
        var backend = Backend(numThreads: 3);
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"mayor":{"type":"string"}},"required":["mayor"]}""").RootElement;
        var options = new GenerationOptions(Temperature: 0.5, Seed: 7, NumCtx: 4096, Stop: ["\n\n"], TopP: 0.9);
        var question = new InferenceRequest(backend.Model, "Who is the mayor of São Paulo?", Messages: null, "Be brief.", options, schema);

        var first = await backend.GenerateAsync(question, CancellationToken.None);
        // The same batch's options again: written once, sent alike.
        var second = await backend.GenerateAsync(question, CancellationToken.None);

        var sent = _simulator.GetRequests().Requests.Where(r => r.Path == "/api/generate").ToList();
        Assert.Equal(2, sent.Count);
        foreach (var request in sent)
        {
            output.WriteLine(request.Options!.Value.GetRawText());
            Assert.Equal(("qwen2:1.5b", "Who is the mayor of São Paulo?", "Be brief.", false), (request.Model, request.Prompt, request.System, request.Stream));
            var sentOptions = request.Options!.Value;
            Assert.Equal(3, sentOptions.GetProperty("num_thread").GetInt32());
            Assert.Equal(0.5, sentOptions.GetProperty("temperature").GetDouble(), 3);
            Assert.Equal(0.9, sentOptions.GetProperty("top_p").GetDouble(), 3);
            Assert.Equal(7, sentOptions.GetProperty("seed").GetInt32());
            Assert.Equal(4096, sentOptions.GetProperty("num_ctx").GetInt32());
            Assert.Equal(["\n\n"], sentOptions.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
            Assert.False(sentOptions.TryGetProperty("num_predict", out _), "an option the batch left unset is not sent");
            Assert.Equal(schema.GetRawText(), request.Format!.Value.GetRawText());
        }

        Assert.Equal(first.Text, second.Text);
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(first.Text).RootElement.GetProperty("mayor").ValueKind);
        Assert.Equal("stop", first.DoneReason);
        Assert.True(first.EvalCount > 0 && first.PromptEvalCount > 0, $"tokens {first.PromptEvalCount}+{first.EvalCount}");
    }

    [Fact]
    public async Task AConversation_ReachesChat_SystemFirst_AndItsMessageContentIsTheAnswer()
    {
        var backend = Backend(numThreads: null);
        var turns = new List<ChatTurn> { new("user", "Hello."), new("assistant", "Hi."), new("user", "Who is the mayor of Lyon?") };

        var answer = await backend.GenerateAsync(new InferenceRequest(backend.Model, Prompt: null, turns, System: "Be brief."), CancellationToken.None);

        var sent = Assert.Single(_simulator.GetRequests().Requests, r => r.Path == "/api/chat");
        Assert.Equal(("qwen2:1.5b", "Who is the mayor of Lyon?", "Be brief.", false), (sent.Model, sent.Prompt, sent.System, sent.Stream));
        Assert.Null(sent.Options);
        Assert.Null(sent.Format);
        Assert.Equal(SimulatedModel.AnswerFor("Who is the mayor of Lyon?"), answer.Text);
        Assert.Equal("stop", answer.DoneReason);
        Assert.True(answer.EvalCount > 0 && answer.PromptEvalCount > 0, $"tokens {answer.PromptEvalCount}+{answer.EvalCount}");
    }

    [Fact]
    public async Task ARefusal_IsAnHttpRequestException_WithTheStatus_AndOllamasOwnWords()
    {
        var backend = Backend(numThreads: null);
        _simulator.DeleteModel("qwen2:1.5b");

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            backend.GenerateAsync(new InferenceRequest(backend.Model, "Who is the mayor of Paris?", Messages: null), CancellationToken.None));

        output.WriteLine(refused.Message);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("not found", refused.Message);
        Assert.Equal(FailureReasons.OllamaHttp4xx, BackendFailureReasons.Of(refused));
    }

    [Fact]
    public void AnAnswer_IsReadWithoutItsContext_WhateverElseItCarries()
    {
        var context = string.Join(',', Enumerable.Range(0, 50_000));
        var body = $$"""
            {"model":"m","created_at":"2025-01-01T00:00:00Z","response":"Anne \"H\" — é","thinking":"hm","done":true,"done_reason":"length",
             "context":[{{context}}],"total_duration":5043500667,"load_duration":5025959,"prompt_eval_count":26,
             "prompt_eval_duration":325953000,"eval_count":290,"eval_duration":4709213000,"logprobs":[{"token":"a","logprob":-0.1}]}
            """;

        var generation = OllamaAnswer.Read(Encoding.UTF8.GetBytes(body)).ToGeneration();

        Assert.Equal(new Generation("Anne \"H\" — é", TimeSpan.FromTicks(50435006), 290, TimeSpan.FromTicks(47092130),
            TimeSpan.FromTicks(50259), TimeSpan.FromTicks(3259530), 26, "length"), generation);
    }

    [Fact]
    public void AChatAnswer_IsItsMessagesContent()
    {
        var answer = OllamaAnswer.Read("""{"message":{"role":"assistant","content":"Grégory Doucet","tool_calls":[]},"done":false}"""u8);

        Assert.Equal(("Grégory Doucet", false), (answer.Text, answer.Done));
    }

    [Theory]
    [InlineData("""{"response":"Anne","done":true,"total_dur""")]
    [InlineData("""{"response":"Anne","done":true""")]
    [InlineData("")]
    [InlineData("<html>Bad gateway</html>")]
    [InlineData("""["response"]""")]
    [InlineData("""{"response":"Anne","done":"yes"}""")]
    [InlineData("""{"response":"Anne","done":true,"eval_count":1e99}""")]
    public void ABodyOllamaWouldNeverSend_IsABadResponse(string body)
    {
        var error = Assert.Throws<BackendResponseException>(() => OllamaAnswer.Read(Encoding.UTF8.GetBytes(body)));

        output.WriteLine(error.Message);
        Assert.Equal(FailureReasons.OllamaBadResponse, BackendFailureReasons.Of(error));
    }

    private OllamaBackend Backend(int? numThreads) =>
        new(_http, MsOptions.Create(new OllamaOptions { NumThreads = numThreads }), _services.GetRequiredService<InferenceMetrics>(), TimeProvider.System);

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _services.DisposeAsync();
        await _simulator.DisposeAsync();
    }
}
