using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// A worker that finds work after the queue was empty has the coordinator wake the other idle workers, and so does a
/// batch that enqueues items, so a new batch starts on every silo at once rather than as each one's idle wait ends.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class WakeTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task WorkFoundByOneIdleWorker_WakesTheOther_LongBeforeItsPollDelay()
    {
        await using var cluster = await StartIdleAsync();
        var first = cluster.Client.GetGrain<IWorkerGrain>(cluster.OwnerOf(cluster.SiloAt(0)));

        var cities = await Cities.LoadAsync(8);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        var clock = Stopwatch.StartNew();
        // The first worker finds the batch (as its own poll would), and tells the coordinator.
        await first.WakeAsync();

        await Eventually.TrueAsync(
            () => cluster.Simulators.All(s => s.GetStats().Served > 0),
            "both backends serving", TimeSpan.FromSeconds(60), cluster.DescribeQueueAsync);
        output.WriteLine($"both backends served within {clock.Elapsed.TotalSeconds:F2} s of the push (idle wait 5–10 min)");
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 8, "8 results", TimeSpan.FromSeconds(60), cluster.DescribeQueueAsync);
    }

    [Fact]
    public async Task ABatchsItems_WakeEveryIdleWorker_LongBeforeItsPollDelay()
    {
        await using var cluster = await StartIdleAsync();
        var cities = await Cities.LoadAsync(8);

        var clock = Stopwatch.StartNew();
        // What `orleansllm submit` and the Batch API do: the batch grain enqueues, and no worker has looked yet.
        await new BatchSubmitter(cluster.Client).SubmitAsync("woken", new BatchSpec(null, null), cities.ToAsyncEnumerable(), CancellationToken.None);

        await Eventually.TrueAsync(
            () => cluster.Simulators.All(s => s.GetStats().Served > 0),
            "both backends serving", TimeSpan.FromSeconds(60), cluster.DescribeQueueAsync);
        output.WriteLine($"both backends served within {clock.Elapsed.TotalSeconds:F2} s of the submit (idle wait 5–10 min)");
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync("woken") == 8, "8 results", TimeSpan.FromSeconds(60), cluster.DescribeQueueAsync);
    }

    /// <summary>Two silos whose workers found the queue empty and look again only in 5–10 minutes, known to the coordinator.</summary>
    private async Task<LlmCluster> StartIdleAsync()
    {
        var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 2;
            // Slow enough that one worker can't finish the 8 items before a wake reaches the other on a loaded machine
            // (at 0.01 it once did, in CI).
            o.Simulator = _ => new SimulatorOptions { Parallel = 1, TimeScale = 0.05 };
            o.Settings["Worker:MaxConcurrency"] = "1";
            // An idle worker looks at the empty queue once every 5–10 minutes: only a wake starts it within the test.
            o.Settings["Worker:PollMinDelay"] = "00:10:00";
            o.Settings["Worker:PollMaxDelay"] = "00:10:00";
        });
        try
        {
            // Both active, and both found the queue empty when they started (their first lease, at activation).
            foreach (var silo in new[] { cluster.SiloAt(0), cluster.SiloAt(1) })
            {
                Assert.Equal(WorkerState.Active, (await cluster.Client.GetGrain<IWorkerGrain>(cluster.OwnerOf(silo)).GetStatusAsync()).State);
            }

            await Eventually.TrueAsync(
                async () => (await cluster.Client.GetCoordinator().GetClusterAsync()).Workers.Count == 2, "both workers known to the coordinator");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }
}
