using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// Lease ahead: the item a worker holds for its next free slot is a lease like any other. It is renewed while it
/// waits, and a drain hands it back at once, unstarted, before waiting for the calls in flight. (A killed silo's
/// buffered items come back through recovery: DrainAndRecoveryTests and ProcessCrashTests.)
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class LeaseAheadTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task BufferedItem_IsRenewedWhileItWaits_NoneExpires()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            // One slot, ~3 s an item: the item leased ahead waits 3 s, longer than its 2 s lease.
            o.Simulator = _ => new SimulatorOptions { Parallel = 1, TimeScale = 0.24 };
            o.Settings["Worker:MaxConcurrency"] = "1";
            o.Settings["Queue:LeaseDuration"] = "00:00:02";
        });
        var worker = cluster.Client.GetGrain<IWorkerGrain>(cluster.OwnerOf(cluster.SiloAt(0)));
        var cities = await Cities.LoadAsync(2);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () => await worker.GetStatusAsync() is { InFlight: 1, Buffered: 1 }, "one item in flight, the other leased ahead");
        var clock = Stopwatch.StartNew();

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 2, "2 results", TimeSpan.FromSeconds(30), cluster.DescribeQueueAsync);

        output.WriteLine($"the buffered item waited and ran; both done {clock.Elapsed.TotalSeconds:F1} s after it was leased ahead (lease 2 s)");
        // Never swept back: each done on its first attempt, with one call each.
        Assert.All((await cluster.ResultsAsync()).Values, r => Assert.Equal(1, r.GetProperty("meta").GetProperty("attempts").GetInt32()));
        Assert.Equal(2, cluster.Simulators[0].GetStats().Served);
        Assert.Empty(await cluster.DeadLettersAsync());
    }

    [Fact]
    public async Task Drain_HandsBufferedItemsBackAtOnce_ThenTheCallsInFlight_LosingNothing()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = _ => new SimulatorOptions { Parallel = 1, TimeScale = 0.001 };
            o.Settings["Worker:MaxConcurrency"] = "1";
            o.Settings["Worker:DrainTimeout"] = "00:00:03";
        });
        var simulator = cluster.Simulators[0];
        // The call in flight never answers, so it lasts until the drain's timeout cuts it short.
        simulator.UpdateFaults(f => f with { HangRate = 1 });
        var address = cluster.OwnerOf(cluster.SiloAt(0));
        var worker = cluster.Client.GetGrain<IWorkerGrain>(address);
        var cities = (await Cities.LoadAsync(3)).Select(c => c.Json).ToArray();
        await cluster.PushRawAsync(cities);
        await Eventually.TrueAsync(async () => await worker.GetStatusAsync() is { InFlight: 1, Buffered: 1 }, "one item in flight, the next leased ahead");
        Assert.Equal([cities[2]], await ReadyAsync(cluster));

        var clock = Stopwatch.StartNew();
        await worker.DrainAsync(null);
        // At once: the call in flight still hangs, and the worker still drains.
        await Eventually.TrueAsync(async () => (await ReadyAsync(cluster)).SequenceEqual(cities[1..]), "the buffered item back at the head");
        var handedBack = clock.Elapsed;
        Assert.Equal(WorkerState.Draining, (await worker.GetStatusAsync()).State);
        Assert.Equal(1, simulator.GetStats().InFlight);
        await Eventually.TrueAsync(async () => (await worker.GetStatusAsync()).State == WorkerState.Drained, "the worker to drain", TimeSpan.FromSeconds(30));
        output.WriteLine($"buffered item handed back {handedBack.TotalMilliseconds:F0} ms into the drain; drained after {clock.Elapsed.TotalSeconds:F1} s (Worker:DrainTimeout 3 s)");

        // Everything back in its order, nothing leased, no attempt spent; and an undrained worker starts empty.
        Assert.Equal(cities, await ReadyAsync(cluster));
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.RawState));
        Assert.Equal(0, (await worker.GetStatusAsync()).Buffered);
        simulator.UpdateFaults(f => f with { HangRate = 0 });
        Assert.True(await worker.UndrainAsync());
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 3, "3 results", describe: cluster.DescribeQueueAsync);
        Assert.All((await cluster.ResultsAsync()).Values, r => Assert.Equal(1, r.GetProperty("meta").GetProperty("attempts").GetInt32()));
    }

    private static async Task<string[]> ReadyAsync(LlmCluster cluster) =>
        (await cluster.Db.ListRangeAsync(cluster.Keys.Ready)).Select(v => (string)v!).ToArray();
}
