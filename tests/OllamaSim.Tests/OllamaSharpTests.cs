using System.Net;
using System.Text;
using System.Text.Json;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;

namespace OllamaSim.Tests;

/// <summary>OllamaSharp 5.5.2, as the silos use it, against the simulator.</summary>
public sealed class OllamaSharpTests : IAsyncLifetime
{
    private const string Model = "qwen2:1.5b";
    private SimulatorServer _server = null!;
    private OllamaApiClient _client = null!;

    public async Task InitializeAsync()
    {
        // A small time-scale keeps the real scheduling path (timers, processor sharing) in play, quickly.
        _server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0.001 });
        _client = new OllamaApiClient(_server.Url, Model);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Generate_without_streaming_returns_one_done_response_with_stats()
    {
        var responses = await ToListAsync(_client.GenerateAsync(
            new GenerateRequest { Model = Model, Prompt = SimulatedModel.ReferencePrompt, Stream = false }));

        var done = Assert.IsType<GenerateDoneResponseStream>(Assert.Single(responses));
        Assert.True(done.Done);
        Assert.Equal(SimulatedModel.AnswerFor(SimulatedModel.ReferencePrompt), done.Response);
        Assert.Equal("stop", done.DoneReason);
        Assert.Equal(SimulatedModel.PromptTokens(SimulatedModel.ReferencePrompt), done.PromptEvalCount);
        Assert.Equal(SimulatedModel.OutputTokens(done.Response), done.EvalCount);
        Assert.True(done.PromptEvalDuration > 0 && done.EvalDuration > 0, "durations are measured");
        Assert.True(done.TotalDuration >= done.PromptEvalDuration + done.EvalDuration, "total covers the parts");

        // 12.5 s at time-scale 1 → 12.5 ms here; allow generous scheduling slack on a busy machine.
        Assert.InRange(TimeSpan.FromTicks((done.PromptEvalDuration + done.EvalDuration) / 100).TotalMilliseconds, 12, 1000);
    }

    [Fact]
    public async Task Generate_streaming_concatenates_to_the_same_answer()
    {
        const string prompt = "Who is the mayor of Amsterdam? Just the name.";
        var responses = await ToListAsync(_client.GenerateAsync(new GenerateRequest { Model = Model, Prompt = prompt }));

        Assert.True(responses.Count >= 2, "a stream of chunks plus the final object");
        Assert.All(responses[..^1], r => Assert.False(r!.Done));
        var final = Assert.IsType<GenerateDoneResponseStream>(responses[^1]);
        Assert.True(final.Done);
        Assert.True(final.EvalCount > 0);
        Assert.Equal(SimulatedModel.AnswerFor(prompt), string.Concat(responses.Select(r => r!.Response)));
    }

    [Fact]
    public async Task Chat_answers_the_last_user_message()
    {
        const string question = "Who is the mayor of Berlin? Just give the name.";
        var request = new ChatRequest
        {
            Model = Model,
            Stream = false,
            Messages = [new Message(ChatRole.System, "You are terse."), new Message(ChatRole.User, question)],
        };

        var responses = await ToListAsync(_client.ChatAsync(request));

        var done = Assert.IsType<ChatDoneResponseStream>(Assert.Single(responses));
        Assert.True(done.Done);
        Assert.Equal(ChatRole.Assistant, done.Message.Role);
        Assert.Equal(SimulatedModel.AnswerFor(question), done.Message.Content);
        Assert.True(done.PromptEvalCount > SimulatedModel.PromptTokens(question), "the system message costs tokens too");
    }

    [Fact]
    public async Task Chat_streaming_concatenates_to_the_answer()
    {
        const string question = "Who is the mayor of Vienna?";
        var request = new ChatRequest { Model = Model, Messages = [new Message(ChatRole.User, question)] };

        var responses = await ToListAsync(_client.ChatAsync(request));

        Assert.IsType<ChatDoneResponseStream>(responses[^1]);
        Assert.Equal(SimulatedModel.AnswerFor(question), string.Concat(responses.Select(r => r!.Message.Content)));
    }

    [Fact]
    public async Task Pull_streams_progress_ending_in_success_and_adds_the_model()
    {
        var progress = await ToListAsync(_client.PullModelAsync(new PullModelRequest { Model = "llama3.2" }));

        Assert.Equal("pulling manifest", progress[0]!.Status);
        Assert.Contains(progress, p => p!.Status.StartsWith("pulling ", StringComparison.Ordinal)
            && p.Digest?.StartsWith("sha256:", StringComparison.Ordinal) == true && p.Total > 0 && p.Completed == p.Total);
        Assert.Contains(progress, p => p!.Status == "verifying sha256 digest");
        Assert.Equal("success", progress[^1]!.Status);

        var models = await _client.ListLocalModelsAsync();
        Assert.Contains(models, m => m.Name == "llama3.2:latest");
        var answer = await ToListAsync(_client.GenerateAsync(new GenerateRequest { Model = "llama3.2", Prompt = "hi", Stream = false }));
        Assert.True(answer[^1]!.Done);
    }

    [Fact]
    public async Task Local_models_list_the_pre_pulled_model_with_details()
    {
        var models = (await _client.ListLocalModelsAsync()).ToList();

        var model = Assert.Single(models);
        Assert.Equal(Model, model.Name);
        Assert.Equal("qwen2", model.Details.Family);
        Assert.Equal("1.5B", model.Details.ParameterSize);
        Assert.True(model.Size > 0);
        Assert.Equal(64, model.Digest.Length);
    }

    [Fact]
    public async Task Show_and_running_models_and_version_work()
    {
        var show = await _client.ShowModelAsync(Model);
        Assert.Equal("qwen2", show.Details.Family);
        Assert.Equal("qwen2", show.Info.Architecture);

        Assert.Empty(await _client.ListRunningModelsAsync()); // nothing loaded before the first request
        await ToListAsync(_client.GenerateAsync(new GenerateRequest { Model = Model, Prompt = "hello", Stream = false }));
        Assert.Contains(await _client.ListRunningModelsAsync(), m => m.Name == Model);

        Assert.Equal("0.0.0-sim", await _client.GetVersionAsync());
        Assert.True(await _client.IsRunningAsync());
    }

    [Fact]
    public async Task Unknown_model_gives_404_with_an_ollama_error()
    {
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() =>
            ToListAsync(_client.GenerateAsync(new GenerateRequest { Model = "nope:1b", Prompt = "hi", Stream = false })));
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);

        using var http = new HttpClient { BaseAddress = _server.Url };
        foreach (var path in new[] { "/api/generate", "/api/chat", "/api/show" })
        {
            using var response = await http.PostAsync(path, Json("""{"model":"nope:1b","prompt":"hi","messages":[]}"""));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("""{"error":"model \"nope:1b\" not found, try pulling it first"}""", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Bad_json_and_missing_model_give_400()
    {
        using var http = new HttpClient { BaseAddress = _server.Url };

        using var bad = await http.PostAsync("/api/generate", Json("{not json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True(JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.TryGetProperty("error", out _));

        using var missing = await http.PostAsync("/api/chat", Json("""{"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("""{"error":"model is required"}""", await missing.Content.ReadAsStringAsync());

        // OllamaSharp turns 400 into its own exception type (a client without a default model sends "").
        using var noDefault = new OllamaApiClient(_server.Url);
        await Assert.ThrowsAsync<OllamaSharp.Models.Exceptions.OllamaException>(() =>
            ToListAsync(noDefault.ChatAsync(new ChatRequest { Model = "", Messages = [], Stream = false })));
    }

    [Fact]
    public async Task Curl_style_requests_work_like_the_api_docs()
    {
        using var http = new HttpClient { BaseAddress = _server.Url };
        Assert.Equal("Ollama is running", await http.GetStringAsync("/"));

        // curl -d sends application/x-www-form-urlencoded; Ollama reads the body as JSON anyway.
        using var form = new StringContent("""{"model":"qwen2:1.5b","prompt":"Why is the sky blue?"}""", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await http.PostAsync("/api/generate", form);

        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("qwen2:1.5b", first.GetProperty("model").GetString());
        Assert.False(first.GetProperty("done").GetBoolean());
        Assert.True(first.TryGetProperty("created_at", out _));
        var last = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.True(last.GetProperty("done").GetBoolean());
        foreach (var field in new[] { "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration" })
        {
            Assert.True(last.GetProperty(field).GetInt64() >= 0, field);
        }
    }

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
