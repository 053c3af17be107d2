using System.Net;
using System.Text.Json;
using OllamaSharp;
using OllamaSharp.Models;

namespace OllamaSim.Tests;

/// <summary>/api/embed and /api/embeddings in Ollama's shapes, with deterministic vectors.</summary>
public sealed class EmbeddingTests : IAsyncLifetime
{
    private SimulatorServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0.001 });
        _http = new HttpClient { BaseAddress = _server.Url };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static double Norm(JsonElement vector) => Math.Sqrt(vector.EnumerateArray().Sum(v => v.GetDouble() * v.GetDouble()));

    [Fact]
    public async Task Embed_returns_one_unit_vector_per_input_with_stats()
    {
        var json = await SimHttp.PostOkAsync(_http, "/api/embed", new { model = "qwen2:1.5b", input = new[] { "Why is the sky blue?", "Why is the grass green?" } });

        Assert.Equal("qwen2:1.5b", json.GetProperty("model").GetString());
        var embeddings = json.GetProperty("embeddings").EnumerateArray().ToList();
        Assert.Equal(2, embeddings.Count);
        Assert.All(embeddings, e => Assert.Equal(SimulatedEmbedding.Dimensions, e.GetArrayLength()));
        Assert.All(embeddings, e => Assert.Equal(1, Norm(e), precision: 4));
        Assert.NotEqual(embeddings[0].GetRawText(), embeddings[1].GetRawText());
        Assert.Equal(
            SimulatedEmbedding.Tokens("Why is the sky blue?") + SimulatedEmbedding.Tokens("Why is the grass green?"),
            json.GetProperty("prompt_eval_count").GetInt32());
        Assert.True(json.GetProperty("total_duration").GetInt64() > 0);
        Assert.True(json.TryGetProperty("load_duration", out _));

        var expected = SimulatedEmbedding.Normalise(SimulatedEmbedding.For("Why is the sky blue?"));
        Assert.Equal(expected, embeddings[0].EnumerateArray().Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Embed_is_deterministic_and_dimensions_shorten_and_renormalise()
    {
        var a = await SimHttp.PostOkAsync(_http, "/api/embed", new { model = "qwen2:1.5b", input = "hello" });
        var b = await SimHttp.PostOkAsync(_http, "/api/embed", new { model = "qwen2:1.5b", input = "hello" });
        Assert.Equal(a.GetProperty("embeddings").GetRawText(), b.GetProperty("embeddings").GetRawText());

        var short64 = await SimHttp.PostOkAsync(_http, "/api/embed", new { model = "qwen2:1.5b", input = "hello", dimensions = 64 });
        var vector = short64.GetProperty("embeddings")[0];
        Assert.Equal(64, vector.GetArrayLength());
        Assert.Equal(1, Norm(vector), precision: 4);
    }

    [Fact]
    public async Task Embed_without_input_just_loads_and_bad_input_is_a_400()
    {
        var empty = await SimHttp.PostOkAsync(_http, "/api/embed", new { model = "qwen2:1.5b" });
        Assert.Equal(0, empty.GetProperty("embeddings").GetArrayLength());

        var (status, body) = await SimHttp.PostAsync(_http, "/api/embed", new { model = "qwen2:1.5b", input = new object[] { "a", 1 } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid input type", SimHttp.Error(body));

        var (missing, missingBody) = await SimHttp.PostAsync(_http, "/api/embed", new { model = "nope", input = "a" });
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("model 'nope' not found", SimHttp.Error(missingBody));
    }

    [Fact]
    public async Task Embeddings_returns_the_raw_vector_in_the_older_shape()
    {
        var json = await SimHttp.PostOkAsync(_http, "/api/embeddings", new { model = "qwen2:1.5b", prompt = "Here is an article about llamas..." });

        var vector = json.GetProperty("embedding");
        Assert.Equal(SimulatedEmbedding.Dimensions, vector.GetArrayLength());
        Assert.True(Norm(vector) > 2, "not normalised, unlike /api/embed");
        Assert.Equal(
            SimulatedEmbedding.For("Here is an article about llamas...").Select(v => (double)v),
            vector.EnumerateArray().Select(v => v.GetDouble()));

        Assert.Equal(0, (await SimHttp.PostOkAsync(_http, "/api/embeddings", new { model = "qwen2:1.5b", prompt = "" })).GetProperty("embedding").GetArrayLength());
        var (missing, body) = await SimHttp.PostAsync(_http, "/api/embeddings", new { model = "nope", prompt = "a" });
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("model \"nope\" not found, try pulling it first", SimHttp.Error(body));
    }

    [Fact]
    public async Task OllamaSharp_embeds_and_faults_apply()
    {
        using var client = new OllamaApiClient(_server.Url, "qwen2:1.5b");

        var response = await client.EmbedAsync(new EmbedRequest { Model = "qwen2:1.5b", Input = ["one", "two", "three"] });
        Assert.Equal(3, response.Embeddings.Count);
        Assert.Equal(SimulatedEmbedding.Dimensions, response.Embeddings[0].Length);

        _server.UpdateFaults(f => f with { ErrorRate = 1 });
        var (status, body) = await SimHttp.PostAsync(_http, "/api/embed", new { model = "qwen2:1.5b", input = "x" });
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("simulated failure", SimHttp.Error(body));
        var stats = await SettledStats.OfAsync(_server.GetStats);
        Assert.Equal((2, 1, 1), (stats.Received, stats.Served, stats.Failed));
    }
}
