using System.Net.Http.Json;
using System.Text.Json;
using OllamaSim;
using OrleansLlm.Options;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Kubernetes;

/// <summary>
/// <c>Ollama:Model</c> without a tag means <c>:latest</c>, as in Ollama, whose <c>/api/tags</c> always lists
/// <c>name:tag</c>. Otherwise <c>model=llama3.2</c> would leave every pod unready and stall the rollout.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Process")]
public sealed class UntaggedModelTests(RedisServer redis) : IAsyncLifetime
{
    private readonly string _queue = LlmClusterOptions.NewQueueName();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private SimulatorServer _simulator = null!;
    private SiloProcess? _silo;

    public async Task InitializeAsync() =>
        // The simulator starts with another model only: llama3.2 is pulled during the test.
        _simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 1, TimeScale = 0.001, Models = ["qwen2:1.5b"] });

    [Theory]
    [InlineData("llama3.2", "llama3.2:latest")]
    [InlineData("llama3.2:1b", "llama3.2:1b")]
    [InlineData(" qwen2 ", "qwen2:latest")]
    [InlineData("registry.example.com:5000/team/llama3.2", "registry.example.com:5000/team/llama3.2:latest")]
    [InlineData("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")]
    public void WithTag_AddsLatestOnlyWhenTheLastSegmentHasNoTag(string configured, string expected) =>
        Assert.Equal(expected, new OllamaOptions { Model = configured }.TaggedModel);

    // The simulator reports a model's "family" as its bare name (llama3.2), so a search of /api/tags for the bare
    // name would find that; a namespaced name shows that the model's own name is what is matched.
    [Theory]
    [InlineData("llama3.2")]
    [InlineData("myorg/llama3.2")]
    public async Task UntaggedModel_ReadyOnceOllamaListsItsLatestTag_RequestsNameTheTag(string model)
    {
        _silo = SiloProcess.Launch(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = _queue,
            ["Queue:Name"] = _queue,
            ["Ollama:Url"] = _simulator.Url.ToString(),
            ["Ollama:Model"] = model,
            ["Worker:AdaptiveConcurrency"] = "false",
        });

        // The worker takes work, but Ollama does not have the model: not ready. This is what /readyz answered for
        // every pod before, with llama3.2:latest listed, since it looked for the bare name.
        await Eventually.TrueAsync(async () => await DrainedAnswerAsync() == "active", "the silo's worker to be active", describe: DrainedAnswerAsync);
        var before = await _silo.ReadinessAsync();
        Assert.False(before.Ready, $"ready without the model: {before.Answer}");

        // What pull-model does in the pod; Ollama then lists it with its tag, as llama3.2:latest.
        using (var pull = await _http.PostAsJsonAsync(new Uri(_simulator.Url, "/api/pull"), new { model, stream = false }))
        {
            Assert.True(pull.IsSuccessStatusCode, await pull.Content.ReadAsStringAsync());
        }

        var tags = await _http.GetStringAsync(new Uri(_simulator.Url, "/api/tags"));
        using (var listed = JsonDocument.Parse(tags))
        {
            var names = listed.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToArray();
            Assert.Equal([$"{model}:latest", "qwen2:1.5b"], names.Order(StringComparer.Ordinal));
        }

        await Eventually.TrueAsync(_silo.IsReadyAsync, $"the silo to be ready once {model}:latest is listed",
            describe: async () => $"/readyz {(await _silo.ReadinessAsync()).Answer}; /api/tags {tags}");

        // Its requests name the model with its tag too.
        var db = redis.Connection.GetDatabase();
        var keys = new OrleansLlm.Queue.QueueKeys(_queue);
        await db.ListRightPushAsync(keys.Ready, (await Cities.LoadAsync(1))[0].Json);
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(db, keys) == 1, "the item's result");
        using var result = JsonDocument.Parse((string)((await QueueHandle.RawResultsAsync(db, keys)).Values.ToArray())[0]!);
        Assert.Equal($"{model}:latest", result.RootElement.GetProperty("meta").GetProperty("model").GetString());
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        await _simulator.DisposeAsync();
        _http.Dispose();
    }

    // /drained answers the worker's state while it is not drained: "not started", "active" or "draining".
    private async Task<string> DrainedAnswerAsync()
    {
        try
        {
            using var response = await _http.GetAsync($"http://127.0.0.1:{_silo!.HttpPort}/drained");
            return await response.Content.ReadAsStringAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ex.Message;
        }
    }
}
