using OllamaSim;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Pipeline;

/// <summary>What the silo sends its Ollama, as the simulator recorded it.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class OllamaRequestTests(RedisServer redis)
{
    [Fact]
    public async Task EveryRequest_CarriesNumThread_AndTheTaggedModel()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.001, Models = ["qwen2:latest"] };
            o.Settings["Ollama:NumThreads"] = "3";
            o.Settings["Ollama:Model"] = "qwen2";
        });
        var cities = await Cities.LoadAsync(5);

        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 5, "5 results", describe: cluster.DescribeQueueAsync);

        var generates = cluster.Simulators[0].GetRequests().Requests.Where(r => r.Path == "/api/generate").ToArray();
        Assert.Equal(5, generates.Length);
        Assert.All(generates, r =>
        {
            Assert.Equal("qwen2:latest", r.Model);
            Assert.Equal(3, r.Options!.Value.GetProperty("num_thread").GetInt32());
        });
    }
}
