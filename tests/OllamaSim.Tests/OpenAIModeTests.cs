using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenAI;
using OpenAI.Chat;
using Xunit.Abstractions;

namespace OllamaSim.Tests;

/// <summary>
/// The simulator in <c>--api openai</c> mode over real HTTP, as vLLM, SGLang and llama.cpp's server answer: through the
/// official OpenAI .NET SDK and raw requests, the gauges of <c>/metrics</c> against the KV-cache capacity, and
/// llama.cpp's timings.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class OpenAIModeTests(ITestOutputHelper output)
{
    private const string Model = "qwen2:1.5b";
    private const string Key = "sk-sim";

    private static Task<SimulatorServer> Start(ServerFlavor flavor = ServerFlavor.Vllm, int? kvSeqs = null, double timeScale = 0, string? apiKey = null, FaultOptions? faults = null) =>
        SimulatorServer.StartAsync(new SimulatorOptions
        {
            Api = SimulatorApi.OpenAI, Flavor = flavor, KvSeqs = kvSeqs, TimeScale = timeScale, ApiKey = apiKey, Seed = 1, Faults = faults ?? new(),
        });

    private static ChatClient Chat(SimulatorServer sim, string key = Key) =>
        new(Model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(sim.Url, "/v1") });

    private static Dictionary<string, object?> ChatBody(string prompt, object? extra = null, string model = Model)
    {
        var body = new Dictionary<string, object?> { ["model"] = model, ["messages"] = new[] { new { role = "user", content = prompt } } };
        foreach (var p in extra?.GetType().GetProperties() ?? [])
        {
            body[p.Name] = p.GetValue(extra);
        }

        return body;
    }

    [Fact]
    public async Task The_official_SDK_gets_usage_length_cuts_and_schema_answers()
    {
        await using var sim = await Start(apiKey: Key);
        var chat = Chat(sim);
        const string prompt = "Who is the mayor of Lisbon? Just the name.";

        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { Temperature = 0 });
        Assert.Equal(SimulatedModel.AnswerFor(prompt), whole.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
        Assert.Equal(SimulatedModel.OutputTokens(whole.Content[0].Text), whole.Usage.OutputTokenCount);
        Assert.True(whole.Usage.InputTokenCount > 0);
        Assert.Equal(whole.Usage.InputTokenCount + whole.Usage.OutputTokenCount, whole.Usage.TotalTokenCount);

        ChatCompletion cut = await chat.CompleteChatAsync([new UserChatMessage("Why is the sky blue?")], new ChatCompletionOptions { MaxOutputTokenCount = 2 });
        Assert.Equal(ChatFinishReason.Length, cut.FinishReason);
        Assert.Equal(2, cut.Usage.OutputTokenCount);

        var schema = BinaryData.FromString("""{"type":"object","properties":{"mayor":{"type":"string"},"confidence":{"type":"number","minimum":0,"maximum":1}},"required":["mayor","confidence"],"additionalProperties":false}""");
        ChatCompletion structured = await chat.CompleteChatAsync(
            [new UserChatMessage(prompt)],
            new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("mayor", schema, jsonSchemaIsStrict: true) });
        var answer = JsonDocument.Parse(structured.Content[0].Text).RootElement;
        Assert.Equal(SimulatedModel.AnswerFor(prompt), answer.GetProperty("mayor").GetString());
        Assert.InRange(answer.GetProperty("confidence").GetDouble(), 0, 1);

        // What the client sent, as sent: the SDK's field names and the schema.
        var sent = sim.GetRequests(limit: 2).Requests;
        Assert.Equal(2, sent[0].Body!.Value.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal("json_schema", sent[1].Body!.Value.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal("/v1/chat/completions", sent[1].Path);
        Assert.Equal(prompt, sent[1].Prompt);
    }

    [Fact]
    public async Task Streams_are_server_sent_events_as_vllm_sends_them()
    {
        await using var sim = await Start(timeScale: 0.001);
        const string prompt = "Who is the mayor of Madrid?";

        var pieces = new List<string>();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat(sim).CompleteChatStreamingAsync([new UserChatMessage(prompt)]))
        {
            pieces.AddRange(update.ContentUpdate.Select(p => p.Text));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(SimulatedModel.AnswerFor(prompt), string.Concat(pieces));
        Assert.Equal(ChatFinishReason.Stop, finish);
        var sent = sim.GetRequests(limit: 1).Requests[0];
        Assert.True(sent.Stream);
        if (sent.Body!.Value.TryGetProperty("stream_options", out var options) && options.GetProperty("include_usage").GetBoolean())
        {
            Assert.Equal(SimulatedModel.OutputTokens(string.Concat(pieces)), usage!.OutputTokenCount);
        }

        using var http = new HttpClient { BaseAddress = sim.Url };
        var (status, body) = await SimHttp.PostAsync(http, "/v1/completions", new { model = Model, prompt = "Why is the sky blue?", max_tokens = 2, stream = true });
        Assert.Equal(HttpStatusCode.OK, status);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        var last = SimHttp.Parse(events[^2]["data: ".Length..]);
        Assert.Equal(("text_completion", "length"), (last.GetProperty("object").GetString(), last.GetProperty("choices")[0].GetProperty("finish_reason").GetString()));
        Assert.Equal(4, events.Length); // two tokens, the finish, [DONE]

        sim.SetFaults(new FaultOptions { MidStreamErrorRate = 1 });
        (status, body) = await SimHttp.PostAsync(http, "/v1/chat/completions", ChatBody("Why is the sky blue?", new { stream = true }));
        events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(500, SimHttp.Parse(events[^2]["data: ".Length..]).GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("data: [DONE]", events[^1]);
    }

    [Fact]
    public async Task Completions_models_and_json_object_answer_like_vllm()
    {
        await using var sim = await Start();
        using var http = new HttpClient { BaseAddress = sim.Url };

        var text = await SimHttp.PostOkAsync(http, "/v1/completions", new { model = Model, prompt = "Why is the sky blue?", max_tokens = 3, temperature = 0.2 });
        Assert.Equal("text_completion", text.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", text.GetProperty("id").GetString(), StringComparison.Ordinal);
        var choice = text.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.StartsWith(choice.GetProperty("text").GetString()!, SimulatedModel.AnswerFor("Why is the sky blue?"), StringComparison.Ordinal);
        Assert.Equal(3, text.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.False(text.TryGetProperty("timings", out _), "only llama.cpp sends timings");

        var json = await SimHttp.PostOkAsync(http, "/v1/chat/completions", ChatBody("Who is the mayor of Rome?", new { response_format = new { type = "json_object" } }));
        var content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(SimulatedModel.AnswerFor("Who is the mayor of Rome?"), JsonDocument.Parse(content).RootElement.GetProperty("answer").GetString());

        var models = SimHttp.Parse((await SimHttp.SendAsync(http, HttpMethod.Get, "/v1/models")).Body);
        Assert.Equal(Model, models.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Equal(0.9, sim.Options.ScalingExponent);
    }

    [Fact]
    public async Task Refusals_have_vllm_status_codes_and_bodies()
    {
        await using var sim = await Start(apiKey: Key);
        using var http = new HttpClient { BaseAddress = sim.Url };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);

        var (status, body) = await SimHttp.PostAsync(http, "/v1/chat/completions", ChatBody("hi", model: "nope"));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("""{"error":{"message":"The model `nope` does not exist.","type":"NotFoundError","param":"model","code":404}}""", body);

        (status, body) = await SimHttp.SendAsync(http, HttpMethod.Post, "/v1/chat/completions", "{not json");
        Assert.Equal((HttpStatusCode.BadRequest, 400), (status, SimHttp.Parse(body).GetProperty("error").GetProperty("code").GetInt32()));
        (status, body) = await SimHttp.PostAsync(http, "/v1/chat/completions", new { model = Model });
        Assert.Equal((HttpStatusCode.BadRequest, "body.messages"), (status, SimHttp.Parse(body).GetProperty("error").GetProperty("param").GetString()));
        (status, _) = await SimHttp.PostAsync(http, "/v1/chat/completions", ChatBody("hi", new { max_tokens = 0 }));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, body) = await SimHttp.PostAsync(http, "/v1/chat/completions", ChatBody("hi", new { stream = "yes" }));
        Assert.Equal((HttpStatusCode.BadRequest, "body.stream"), (status, SimHttp.Parse(body).GetProperty("error").GetProperty("param").GetString()));

        // vLLM guards /v1 only: no key or a wrong one is 401 there, /health and /metrics stay open.
        using var anonymous = new HttpClient { BaseAddress = sim.Url };
        Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Unauthorized"}"""), await SimHttp.PostAsync(anonymous, "/v1/chat/completions", ChatBody("hi")));
        var wrongKey = await Assert.ThrowsAsync<ClientResultException>(() => Chat(sim, "sk-wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, wrongKey.Status);
        Assert.Equal(HttpStatusCode.OK, (await SimHttp.SendAsync(anonymous, HttpMethod.Get, "/health")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SimHttp.SendAsync(anonymous, HttpMethod.Get, "/metrics")).Status);

        // Ollama's routes are not there, so a client that used them would see it.
        Assert.Equal((HttpStatusCode.NotFound, """{"detail":"Not Found"}"""), await SimHttp.PostAsync(http, "/api/generate", new { model = Model, prompt = "hi" }));
        Assert.Equal(HttpStatusCode.NotFound, (await SimHttp.SendAsync(http, HttpMethod.Get, "/api/tags")).Status);
    }

    [Fact]
    public async Task Faults_answer_with_openai_error_bodies()
    {
        await using var sim = await Start(faults: new FaultOptions { ErrorRate = 1 });
        using var http = new HttpClient { BaseAddress = sim.Url };

        var (status, body) = await SimHttp.PostAsync(http, "/v1/chat/completions", ChatBody("hi"));
        Assert.Equal((HttpStatusCode.InternalServerError, "InternalServerError"), (status, SimHttp.Parse(body).GetProperty("error").GetProperty("type").GetString()));

        sim.SetFaults(new FaultOptions { UnavailableRate = 1 });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await SimHttp.PostAsync(http, "/v1/completions", new { model = Model, prompt = "hi" })).Status);

        sim.SetFaults(new FaultOptions { MidStreamErrorRate = 1 });
        Assert.Equal(HttpStatusCode.InternalServerError, (await SimHttp.PostAsync(http, "/v1/chat/completions", ChatBody("hi"))).Status);

        sim.SetFaults(new FaultOptions { SchemaViolationRate = 1 });
        var broken = await SimHttp.PostOkAsync(http, "/v1/chat/completions", ChatBody("hi", new { response_format = new { type = "json_object" } }));
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(broken.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!));

        var stats = await SettledStats.OfAsync(sim.GetStats);
        Assert.Equal((4, 1, 3), (stats.Received, stats.Served, stats.Failed));
    }

    [Theory]
    [InlineData(ServerFlavor.Vllm, "vllm:num_requests_running", "vllm:num_requests_waiting")]
    [InlineData(ServerFlavor.Sglang, "sglang:num_running_reqs", "sglang:num_queue_reqs")]
    [InlineData(ServerFlavor.LlamaCpp, "llamacpp:requests_processing", "llamacpp:requests_deferred")]
    public async Task Metrics_show_requests_waiting_while_the_kv_cache_is_full(ServerFlavor flavor, string running, string waiting)
    {
        const int kvSeqs = 2;
        await using var sim = await Start(flavor, kvSeqs, timeScale: 0.01);
        using var http = new HttpClient { BaseAddress = sim.Url };
        sim.SetSpeed(1e-6); // the batch computes, but so slowly that nothing finishes until the speed comes back

        var requests = Enumerable.Range(0, 5).Select(i => SimHttp.PostOkAsync(http, "/v1/chat/completions", ChatBody($"Who is the mayor of city {i}?"))).ToList();
        await Eventually.TrueAsync(
            async () => await Gauges(http, running, waiting) == (kvSeqs, 3), "2 running and 3 waiting", TimeSpan.FromSeconds(10),
            async () => (await Gauges(http, running, waiting)).ToString());

        sim.SetSpeed(1);
        await Task.WhenAll(requests);
        Assert.Equal((0, 0), await Gauges(http, running, waiting));
        var stats = await SettledStats.OfAsync(sim.GetStats);
        Assert.Equal((kvSeqs, 5, 5), (stats.Parallel, stats.QueueWaitSeconds.Count, stats.Served));
        Assert.True(stats.QueueWaitSeconds.P99 > 0, "the last ones queued for a KV-cache slot");
    }

    [Fact]
    public async Task LlamaCpp_timings_leave_out_the_queue_wait()
    {
        const double timeScale = 0.02;
        await using var sim = await Start(ServerFlavor.LlamaCpp, kvSeqs: 1, timeScale);
        using var http = new HttpClient { BaseAddress = sim.Url };
        sim.SetSpeed(1e-6);

        var first = Timed(http, SimulatedModel.ReferencePrompt);
        await Eventually.TrueAsync(async () => await Gauges(http, "llamacpp:requests_processing", "llamacpp:requests_deferred") == (1, 0), "the first holding the slot");
        var second = Timed(http, "Who is the mayor of Paris?");
        await Eventually.TrueAsync(async () => await Gauges(http, "llamacpp:requests_processing", "llamacpp:requests_deferred") == (1, 1), "the second waiting");
        sim.SetSpeed(1);
        await first;
        var (answer, wall) = await second;

        var timings = answer.GetProperty("timings");
        var computed = TimeSpan.FromMilliseconds(timings.GetProperty("prompt_ms").GetDouble() + timings.GetProperty("predicted_ms").GetDouble());
        var firstAlone = TimeSpan.FromSeconds(SimulatedModel.ReferenceSoloSeconds * timeScale);
        output.WriteLine($"second: wall {wall.TotalMilliseconds:F0} ms, timings {computed.TotalMilliseconds:F0} ms; the first alone {firstAlone.TotalMilliseconds:F0} ms");
        Assert.True(wall - computed >= firstAlone * 0.9, $"the wait behind the first ({firstAlone}) is not in the timings: wall {wall}, timings {computed}");
        Assert.Equal(answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), timings.GetProperty("prompt_n").GetInt32());
        Assert.Equal(answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), timings.GetProperty("predicted_n").GetInt32());
    }

    [Fact]
    public async Task Plain_tells_nothing_but_the_answers()
    {
        await using var sim = await Start(ServerFlavor.Plain);
        using var http = new HttpClient { BaseAddress = sim.Url };

        Assert.Equal(HttpStatusCode.NotFound, (await SimHttp.SendAsync(http, HttpMethod.Get, "/metrics")).Status);
        var answer = await SimHttp.PostOkAsync(http, "/v1/chat/completions", ChatBody("hi"));
        Assert.False(answer.TryGetProperty("timings", out _));
        Assert.Equal("chat.completion", answer.GetProperty("object").GetString());
    }

    private async Task<(JsonElement Answer, TimeSpan Wall)> Timed(HttpClient http, string prompt)
    {
        var clock = Stopwatch.StartNew();
        var answer = await SimHttp.PostOkAsync(http, "/v1/chat/completions", ChatBody(prompt));
        return (answer, clock.Elapsed);
    }

    /// <summary>The two gauges of a scrape, summed over their label sets.</summary>
    private static async Task<(int Running, int Waiting)> Gauges(HttpClient http, string running, string waiting)
    {
        var (status, text) = await SimHttp.SendAsync(http, HttpMethod.Get, "/metrics");
        Assert.Equal(HttpStatusCode.OK, status);
        int Sum(string name) => (int)Sample().Matches(text)
            .Where(m => m.Groups["name"].Value == name)
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
        return (Sum(running), Sum(waiting));
    }

    [GeneratedRegex(@"^(?<name>[a-z_:]+)(\{[^}]*\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
