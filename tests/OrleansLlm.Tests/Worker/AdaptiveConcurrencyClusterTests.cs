using OllamaSim;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Worker;

[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class AdaptiveConcurrencyClusterTests(RedisServer redis)
{
    [Fact]
    public async Task EachWorker_FindsItsOwnOllamasSlots_VisibleInTheCoordinator()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            // Different backends behind each silo: 3 slots and 1 slot.
            o.Simulator = i => new SimulatorOptions { Parallel = i == 0 ? 3 : 1, TimeScale = 0.004 };
            o.Settings["Worker:AdaptiveConcurrency"] = "true";
            o.Settings["Worker:MaxConcurrency"] = "8";
        });
        var cities = await Cities.LoadAsync(800);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        var slots = cluster.Cluster.Silos.ToDictionary(cluster.OwnerOf, s => cluster.SimulatorOf(s).Options.Parallel);
        Assert.Equal([1, 3], slots.Values.Order());

        await Eventually.TrueAsync(async () =>
        {
            var workers = (await cluster.Coordinator.GetClusterAsync()).Workers;
            return workers.Count == 2 && workers.All(w => w.Status.ConcurrencyLimit == slots[w.Status.Silo]);
        }, "each worker's limit to settle at its Ollama's slots", describe: async () => string.Join(", ",
            (await cluster.Coordinator.GetClusterAsync()).Workers.Select(w => $"{w.Status.Silo}: {w.Status.ConcurrencyLimit}")));

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == cities.DistinctBy(c => c.Id).Count(), "every result", describe: cluster.DescribeQueueAsync);
        Assert.Empty(await cluster.DeadLettersAsync());
    }
}
