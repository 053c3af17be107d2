using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Backends;

/// <summary>Silos on different backends share one queue: some beside Ollama, some beside a vLLM-like server.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class MixedBackendTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task OllamaAndVllmSilos_FinishOneBatch_EachServingSomeOfIt()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 3;
            o.Simulator = i => new SimulatorOptions
            {
                TimeScale = 0.001,
                Parallel = 2,
                Api = i == 0 ? SimulatorApi.Ollama : SimulatorApi.OpenAI,
                Flavor = i == 1 ? ServerFlavor.Vllm : ServerFlavor.LlamaCpp,
            };
        });
        var submitter = new BatchSubmitter(cluster.Client);
        var items = await Cities.LoadAsync(300);

        await submitter.SubmitAsync("mixed", new BatchSpec(null, null), items.ToAsyncEnumerable(), CancellationToken.None);
        await submitter.WaitAsync("mixed", TimeSpan.FromMilliseconds(50), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);

        var results = await cluster.ResultsAsync("mixed");
        Assert.Equal(items.Select(i => i.Id).Order(), results.Keys.Order());
        Assert.Empty(await cluster.DeadLettersAsync());
        var bySilo = results.Values.GroupBy(r => r.GetProperty("meta").GetProperty("silo").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", bySilo.Select(s => $"{cluster.SimulatorOf(s.Key).Options.Api}/{cluster.SimulatorOf(s.Key).Options.Flavor}: {s.Value}")));
        Assert.Equal(3, bySilo.Count);
        foreach (var (silo, count) in bySilo)
        {
            // Each silo's results were answered by its own server, through its own API.
            var simulator = cluster.SimulatorOf(silo);
            Assert.Equal(count, simulator.GetStats().Served);
            var paths = simulator.GetRequests().Requests.Select(r => r.Path).Distinct().ToArray();
            Assert.Equal([simulator.Options.Api == SimulatorApi.OpenAI ? "/v1/chat/completions" : "/api/generate"], paths);
        }

        // One model, named alike by both kinds of server.
        var models = results.Values.Select(r => r.GetProperty("meta").GetProperty("model").GetString()!).Distinct().ToArray();
        Assert.Equal(["qwen2:1.5b"], models);
    }
}
