using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Worker;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>No work lost when the cluster shrinks: graceful stops, drain timeouts, crashes and coordinator failover.</summary>
[Collection(SlowRedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class DrainAndRecoveryTests(RedisServer redis, ITestOutputHelper output)
{
    // Each simulated request takes ~1.5 s alone and ~2.4 s two at a time (12.5 s × 0.12, on 2 slots).
    private static SimulatorOptions SlowOllama(int _) => new() { Parallel = 2, TimeScale = 0.12 };

    [Theory]
    [InlineData(SimulatorApi.Ollama)]
    [InlineData(SimulatorApi.OpenAI)]
    public async Task GracefulStop_InFlightItemsFinish_EachCompletedExactlyOnce(SimulatorApi api)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = SlowOllama;
            o.Api = api;
        });
        var cities = await Cities.LoadAsync(8);
        var leaving = cluster.SiloAt(1);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        // 2 in flight and 1 leased ahead (Worker:MaxLeaseAhead's default) for the next slot that frees.
        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(leaving)).Length == 3, "the leaving silo to hold 3 leases");
        var held = await cluster.PayloadsAsync(await cluster.LeasesOfAsync(leaving));

        var clock = Stopwatch.StartNew();
        await cluster.Cluster.StopSiloAsync(leaving);
        clock.Stop();

        output.WriteLine($"graceful stop with 2 items in flight and 1 leased ahead took {clock.Elapsed.TotalSeconds:F2} s");
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 8, "8 results", describe: cluster.DescribeQueueAsync);
        var results = await cluster.ResultsAsync();
        // What the leaving silo held, it finished itself (the items in flight) or handed back unstarted (the one
        // leased ahead), each done on its first attempt.
        var byLeaving = held.Count(p => results[Cities.IdOf(p)].GetProperty("meta").GetProperty("silo").GetString() == cluster.OwnerOf(leaving));
        Assert.InRange(byLeaving, 2, 3);
        Assert.All(held, p => Assert.Equal(1, results[Cities.IdOf(p)].GetProperty("meta").GetProperty("attempts").GetInt32()));

        Assert.Empty(await cluster.DeadLettersAsync());
        Assert.Equal(0, (long)await cluster.Db.HashGetAsync(cluster.Keys.Stats, "duplicates"));
        Assert.Equal(8, cluster.Simulators.Sum(s => s.GetStats().Served));
    }

    [Fact]
    public async Task DrainTimeoutShorterThanRequests_UnfinishedItemsBackAtHead_AnotherSiloCompletesThem()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = SlowOllama;
            o.Settings["Worker:DrainTimeout"] = "00:00:00.200";
        });
        var cities = await Cities.LoadAsync(6);
        var leaving = cluster.SiloAt(1);
        var staying = cluster.SiloAt(0);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        // Each: 2 in flight and 1 leased ahead.
        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(leaving)).Length == 3 && (await cluster.LeasesOfAsync(staying)).Length == 3,
            "each silo to hold 3 leases");
        var held = await cluster.PayloadsAsync(await cluster.LeasesOfAsync(leaving));

        await cluster.Cluster.StopSiloAsync(leaving);

        // At once, not after a lease expiry: the staying silo is still busy with its own two (and holds its next), so
        // they wait at the head, in lease order: the one leased ahead went back first, the two cut short in front of it.
        var head = (await cluster.Db.ListRangeAsync(cluster.Keys.Ready, 0, 2)).Select(v => (string)v!).ToArray();
        Assert.Equal(held, head);
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 6, "6 results", describe: cluster.DescribeQueueAsync);
        var results = await cluster.ResultsAsync();
        Assert.All(results.Values, r => Assert.Equal(cluster.OwnerOf(staying), r.GetProperty("meta").GetProperty("silo").GetString()));
        Assert.All(results.Values, r => Assert.Equal(1, r.GetProperty("meta").GetProperty("attempts").GetInt32()));
        Assert.Empty(await cluster.DeadLettersAsync());
    }

    [Fact]
    public async Task KilledSilo_LeasesRecoveredOnceDeclaredDead_SurvivorsFinishEverything()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = SlowOllama;
            // Leases outlive the test: only membership declaring the silo dead can hand them back.
            o.Settings["Queue:LeaseDuration"] = "00:10:00";
        });
        var cities = await Cities.LoadAsync(6);
        var victim = cluster.SiloAt(1);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        // 2 in flight and 1 leased ahead: recovery hands back the buffered lease like the others.
        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(victim)).Length == 3, "the victim to hold 3 leases");
        var held = await cluster.PayloadsAsync(await cluster.LeasesOfAsync(victim));
        Assert.Equal(1, (await cluster.Client.GetGrain<IWorkerGrain>(cluster.OwnerOf(victim)).GetStatusAsync()).Buffered);

        var clock = Stopwatch.StartNew();
        await cluster.Cluster.KillSiloAsync(victim);
        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(victim)).Length == 0, "the victim's leases to be recovered");
        clock.Stop();

        output.WriteLine($"leases of the killed silo recovered {clock.Elapsed.TotalSeconds:F1} s after the kill (leases last 10 minutes)");
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 6, "6 results", describe: cluster.DescribeQueueAsync);
        var results = await cluster.ResultsAsync();
        var attempts = held.Select(p => results[Cities.IdOf(p)]).Select(r =>
        {
            Assert.Equal(cluster.OwnerOf(cluster.SiloAt(0)), r.GetProperty("meta").GetProperty("silo").GetString());
            return r.GetProperty("meta").GetProperty("attempts").GetInt32();
        }).ToArray();
        // The items in flight came back through recovery, an attempt spent. (An in-process kill still starts the
        // silo's stop, whose drain may hand back the item leased ahead first, unstarted: then no attempt is spent.
        // ProcessCrashTests kills a silo process for real.)
        Assert.True(attempts.Count(a => a == 2) >= 2 && attempts.All(a => a is 1 or 2), $"attempts: {string.Join(", ", attempts)}");

        Assert.Empty(await cluster.DeadLettersAsync());
    }

    [Fact]
    public async Task CoordinatorSiloKilled_ItsLeasesRecoveredByTheOthers_CoordinatorComesBackWithWorkers()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 3;
            o.Simulator = SlowOllama;
            // Leases outlive the test: only the surviving silos seeing membership declare it dead can hand them back.
            o.Settings["Queue:LeaseDuration"] = "00:10:00";
        });
        await Eventually.TrueAsync(async () => (await cluster.Coordinator.GetClusterAsync()).Workers.Count == 3, "3 workers to report");
        var before = await cluster.Coordinator.GetClusterAsync();
        var victim = cluster.Cluster.Silos.Single(s => cluster.OwnerOf(s) == before.CoordinatorSilo);
        var cities = await Cities.LoadAsync(12);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(victim)).Length == 3, "the coordinator's silo to hold 3 leases (1 leased ahead)");

        await cluster.Cluster.KillSiloAsync(victim);

        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(victim)).Length == 0, "the dead coordinator silo's leases to be recovered");
        await Eventually.TrueAsync(async () =>
        {
            var view = await cluster.Coordinator.GetClusterAsync();
            return view.CoordinatorSilo != before.CoordinatorSilo
                && view.Workers.Count(w => w.Membership == "Active" && w.Status.State == WorkerState.Active) == 2;
        }, "a new coordinator that knows the 2 surviving workers");
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 12, "12 results", describe: cluster.DescribeQueueAsync);
        var after = await cluster.Coordinator.GetClusterAsync();
        Assert.True(after.RecoveredLeases >= 2, $"recovery counted {after.RecoveredLeases} leases");
        Assert.Empty(await cluster.DeadLettersAsync());
    }

    [Fact]
    public async Task DrainThroughCoordinator_SiloStopsTaking_NotReady_OthersCarryOn()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"orleansllm-drained-{Guid.NewGuid():N}");
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.01 };
            o.Settings["Worker:DrainedMarkerPath"] = marker;
        });
        var target = cluster.SiloAt(1);
        Assert.False(File.Exists(marker));
        await Eventually.TrueAsync(async () => (await cluster.Coordinator.GetClusterAsync()).Workers.Count == 2, "2 workers to report");
        var port = target.SiloAddress.Endpoint.Port.ToString();

        var drained = await cluster.Coordinator.DrainAsync($":{port}@");

        Assert.Equal(cluster.OwnerOf(target), drained);
        var state = target.SiloHost.Services.GetRequiredService<LocalWorkerState>();
        await Eventually.TrueAsync(() => state.IsDrained, "the silo to be drained");
        Assert.False(state.IsAccepting);
        Assert.True(File.Exists(marker), "the drained marker file tells the Ollama container it may stop");
        File.Delete(marker);
        var served = cluster.SimulatorOf(drained).GetStats().Served;

        var cities = await Cities.LoadAsync(40);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 40, "40 results", describe: cluster.DescribeQueueAsync);

        Assert.Equal(served, cluster.SimulatorOf(drained).GetStats().Served);
        var view = await cluster.Coordinator.GetClusterAsync();
        Assert.Equal(WorkerState.Drained, view.Workers.Single(w => w.Status.Silo == drained).Status.State);
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.Coordinator.DrainAsync("no-such-silo"));
    }
}
