using System.Net;
using OllamaSharp;
using OllamaSharp.Models;

namespace OllamaSim.Tests;

/// <summary>Deleting, copying and pulling models back; Ollama's other routes and unknown ones.</summary>
public sealed class ModelManagementTests : IAsyncLifetime
{
    private SimulatorServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0, Models = ["qwen2:1.5b", "llama3.2:1b"] });
        _http = new HttpClient { BaseAddress = _server.Url };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Delete_removes_the_model_until_it_is_pulled_again()
    {
        var (deleted, body) = await SimHttp.SendAsync(_http, HttpMethod.Delete, "/api/delete", """{"model":"qwen2:1.5b"}""");
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Equal("", body);

        var (status, error) = await SimHttp.PostAsync(_http, "/api/generate", new { model = "qwen2:1.5b", prompt = "hi", stream = false });
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model \"qwen2:1.5b\" not found, try pulling it first", SimHttp.Error(error));
        Assert.Equal(HttpStatusCode.NotFound, (await SimHttp.PostAsync(_http, "/api/chat", new { model = "qwen2:1.5b", messages = new[] { new { role = "user", content = "hi" } } })).Status);
        var tags = SimHttp.Parse(await _http.GetStringAsync("/api/tags")).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString());
        Assert.Equal(["llama3.2:1b"], tags);
        Assert.Equal(["llama3.2:1b"], _server.Models);

        var (again, againBody) = await SimHttp.SendAsync(_http, HttpMethod.Delete, "/api/delete", """{"model":"qwen2:1.5b"}""");
        Assert.Equal(HttpStatusCode.NotFound, again);
        Assert.Equal("model 'qwen2:1.5b' not found", SimHttp.Error(againBody));

        await SimHttp.PostOkAsync(_http, "/api/pull", new { model = "qwen2:1.5b", stream = false });
        await SimHttp.PostOkAsync(_http, "/api/generate", new { model = "qwen2:1.5b", prompt = "hi", stream = false });
    }

    [Fact]
    public async Task OllamaSharp_deletes_and_the_in_process_api_pulls_back()
    {
        using var client = new OllamaApiClient(_server.Url, "llama3.2:1b");

        await client.DeleteModelAsync(new DeleteModelRequest { Model = "llama3.2:1b" });

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() =>
            OllamaSharpTests.ToListAsync(client.GenerateAsync(new GenerateRequest { Model = "llama3.2:1b", Prompt = "hi", Stream = false })));
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.DoesNotContain(await client.ListLocalModelsAsync(), m => m.Name == "llama3.2:1b");

        _server.PullModel("llama3.2:1b");
        var answer = await OllamaSharpTests.ToListAsync(client.GenerateAsync(new GenerateRequest { Model = "llama3.2:1b", Prompt = "hi", Stream = false }));
        Assert.True(answer[^1]!.Done);
        Assert.True(_server.DeleteModel("llama3.2:1b"));
        Assert.False(_server.DeleteModel("llama3.2:1b"));
    }

    [Fact]
    public async Task Delete_without_a_name_or_body_is_a_400()
    {
        var (noName, noNameBody) = await SimHttp.SendAsync(_http, HttpMethod.Delete, "/api/delete", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, noName);
        Assert.Equal("name \"\" is invalid", SimHttp.Error(noNameBody));

        var (noBody, noBodyText) = await SimHttp.SendAsync(_http, HttpMethod.Delete, "/api/delete");
        Assert.Equal(HttpStatusCode.BadRequest, noBody);
        Assert.Equal("missing request body", SimHttp.Error(noBodyText));
    }

    [Fact]
    public async Task Copy_makes_a_second_name_for_a_model()
    {
        var (copied, _) = await SimHttp.PostAsync(_http, "/api/copy", new { source = "qwen2:1.5b", destination = "backup" });
        Assert.Equal(HttpStatusCode.OK, copied);
        Assert.Contains("backup:latest", _server.Models);
        await SimHttp.PostOkAsync(_http, "/api/generate", new { model = "backup", prompt = "hi", stream = false });

        var (missing, body) = await SimHttp.PostAsync(_http, "/api/copy", new { source = "nope", destination = "other" });
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("model \"nope\" not found", SimHttp.Error(body));
    }

    [Theory]
    [InlineData("POST", "/api/create")]
    [InlineData("POST", "/api/push")]
    [InlineData("POST", "/api/blobs/sha256:29fdb92e57cf0827ded04ae6461b5931d01fa595843f55d36f5b275a52087dd2")]
    [InlineData("GET", "/api/status")]
    [InlineData("POST", "/v1/chat/completions")]
    [InlineData("POST", "/v1/completions")]
    [InlineData("POST", "/v1/embeddings")]
    [InlineData("GET", "/v1/models")]
    [InlineData("GET", "/v1/models/qwen2:1.5b")]
    [InlineData("POST", "/v1/responses")]
    [InlineData("POST", "/v1/messages")]
    public async Task Ollama_routes_the_simulator_lacks_answer_501_with_a_json_error(string method, string path)
    {
        var (status, body) = await SimHttp.SendAsync(_http, new HttpMethod(method), path, method == "GET" ? null : "{}");

        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Equal($"{method} {path} is not supported by the simulator", SimHttp.Error(body));
    }

    [Fact]
    public async Task Unknown_routes_and_wrong_methods_answer_json_errors()
    {
        var (unknown, unknownBody) = await SimHttp.SendAsync(_http, HttpMethod.Post, "/api/nonsense", "{}");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Equal("404 page not found", SimHttp.Error(unknownBody));

        var (wrongMethod, wrongBody) = await SimHttp.SendAsync(_http, HttpMethod.Get, "/api/generate");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod);
        Assert.Equal("405 method not allowed", SimHttp.Error(wrongBody));

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/tags"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
    }
}
