using System.Text.Json;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

[Collection(ScalingRedisCollection.Name)]
[Trait("Category", "Process")]
public sealed class ScaleTests(RedisServer redis, ITestOutputHelper output)
{
    [Theory]
    [InlineData(0, 10, 1, 4, 1)]
    [InlineData(35, 10, 1, 4, 4)]
    [InlineData(31, 10, 1, 4, 4)]
    [InlineData(30, 10, 1, 4, 3)]
    [InlineData(5000, 100, 1, 4, 4)]
    public void KedaFormula_CeilOfMetricOverTarget_Clamped(long metric, int target, int min, int max, int expected) =>
        Assert.Equal(expected, KedaScaleSimulator.Desired(metric, target, min, max));

    [Fact]
    public async Task SiloProcesses_Batch2000_ScalingOneToFourAndBackTwice_WithASigKill_NothingLost()
    {
        var queue = LlmClusterOptions.NewQueueName();
        var keys = new OrleansLlm.Queue.QueueKeys(queue);
        var db = redis.Connection.GetDatabase();
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = queue,
            ["Queue:Name"] = queue,
            ["Queue:SweepInterval"] = "00:00:00.250",
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "2",
            ["Worker:DrainTimeout"] = "00:00:10",
            ["Orleans:Membership:ProbeTimeout"] = "00:00:01",
            ["Orleans:Membership:NumMissedProbesLimit"] = "2",
            ["Orleans:Membership:NumVotesForDeathDeclaration"] = "1",
        };
        // Answers as fast as the scaling allows: one silo alone would need over 30 s for a wave of 1000, and three more
        // silo processes start in about 10 s (20 s with the CPU three times oversubscribed), so the scale-up to 4 comes
        // while most of the wave is still queued, and four silos finish it in about 10 s.
        await using var replicas = new ProcessReplicaSet(() => new SimulatorOptions { Parallel = 2, TimeScale = 0.004 }, settings);
        await replicas.ScaleUpAsync();
        var scaler = new KedaScaleSimulator(db, keys, replicas, target: 100, minReplicas: 1, maxReplicas: 4, TimeSpan.FromMilliseconds(500));
        using var stop = new CancellationTokenSource();
        var scaling = scaler.RunAsync(stop.Token);
        var items = (await Cities.LoadAsync(2001)).DistinctBy(i => i.Id).Take(2000).ToArray();

        // Wave 1: scale up to 4, SIGKILL one of the new silos mid-batch, scale back to 1.
        await db.ListRightPushAsync(keys.Ready, items[..1000].Select(i => (StackExchange.Redis.RedisValue)i.Json).ToArray());
        await Eventually.TrueAsync(() => scaler.Replicas == 4, "scale-up to 4 silo processes", TimeSpan.FromMinutes(2));
        var victim = replicas.Running[^1];
        await Eventually.TrueAsync(async () => (await db.HashValuesAsync(keys.Owners)).Any(o => victim.Owns(o!)), "the victim to have work in flight");
        var heldBeforeKill = (await db.HashValuesAsync(keys.Owners)).Count(o => victim.Owns(o!));
        replicas.Kill(victim);
        // As in the in-process test: what the victim held is read again once it is dead, as it leased on until then.
        var heldAtKill = Math.Max(heldBeforeKill, (await db.HashValuesAsync(keys.Owners)).Count(o => victim.Owns(o!)));
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(db, keys) == 1000, "wave 1 done", TimeSpan.FromMinutes(3));
        await Eventually.TrueAsync(() => scaler.Replicas == 1, "scale-down to 1 silo process", TimeSpan.FromMinutes(1));

        // Wave 2: the same again, without a crash.
        await db.ListRightPushAsync(keys.Ready, items[1000..].Select(i => (StackExchange.Redis.RedisValue)i.Json).ToArray());
        await Eventually.TrueAsync(() => scaler.Replicas == 4, "second scale-up to 4", TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(db, keys) == 2000, "wave 2 done", TimeSpan.FromMinutes(3));
        await Eventually.TrueAsync(() => scaler.Replicas == 1, "second scale-down to 1", TimeSpan.FromMinutes(1));
        stop.Cancel();
        await scaling;

        Assert.Equal(2000, await QueueHandle.RawResultCountAsync(db, keys));
        Assert.Empty(await QueueHandle.DeadLettersAsync(db, keys));
        Assert.True(scaler.CycledFully(times: 2), $"expected 1 → 4 → 1 twice, saw {string.Join(" → ", scaler.History)}");

        // Every Ollama call beyond one per item was a call the killed silo had in flight; the SIGTERMed silos drained.
        var calls = replicas.All.Sum(r => r.Simulator.GetStats().Served + r.Simulator.GetStats().Failed);
        var victimSim = replicas.All.Single(r => r.Silo == victim).Simulator.GetStats();
        output.WriteLine($"replicas over time: {string.Join(" → ", scaler.History)}; processes started: {replicas.All.Count}");
        output.WriteLine($"SIGKILLed silo held {heldAtKill} items; duplicate Ollama calls: {calls - 2000}; " +
                         $"calls the victim never answered: {victimSim.Failed + victimSim.InFlight}; longest SIGTERM drain: {replicas.LongestTermination.TotalSeconds:F1} s");
        var kept = ((await QueueHandle.RawResultsAsync(db, keys)).Values.ToArray())
            .Select(v => System.Text.Json.JsonDocument.Parse((string)v!).RootElement.GetProperty("meta").GetProperty("silo").GetString()!)
            .ToArray();
        foreach (var (silo, sim) in replicas.All)
        {
            var stats = sim.GetStats();
            output.WriteLine($"silo port {silo.SiloPort}{(silo == victim ? " (killed)" : "")}: served {stats.Served}, failed {stats.Failed}, results kept {kept.Count(silo.Owns)}");
        }

        Assert.InRange(calls - 2000, 0, heldAtKill);
        Assert.All(replicas.All.Where(r => r.Silo != victim), r => Assert.Equal(0, r.Simulator.GetStats().Failed));
    }

    [Fact]
    public async Task Batch2000_ScalingOneToFourAndBackTwice_WithACrash_NothingLost()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            // Faster answers than the process test's: silos in the test process start in about a second, not ten.
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.002 };
        });
        var initial = cluster.SiloAt(0);
        var replicas = new InProcessReplicaSet(cluster);
        var scaler = new KedaScaleSimulator(cluster.Db, cluster.Keys, replicas, target: 100, minReplicas: 1, maxReplicas: 4, TimeSpan.FromMilliseconds(250));
        using var stop = new CancellationTokenSource();
        var scaling = scaler.RunAsync(stop.Token);
        var items = await Cities.LoadAsync(2001);
        var distinct = items.DistinctBy(i => i.Id).Take(2000).ToArray();
        var submitter = new BatchSubmitter(cluster.Client);

        // Wave 1: scale up to 4, crash one scaled-up silo mid-batch, scale back to 1.
        await submitter.SubmitAsync("scale", new BatchSpec(null, null), distinct[..1000].ToAsyncEnumerable(), CancellationToken.None);
        await Eventually.TrueAsync(() => scaler.Replicas == 4, "scale-up to 4 silos");
        await Eventually.TrueAsync(async () => replicas.ScaledUpSilos.Count > 0 && (await cluster.LeasesOfAsync(replicas.ScaledUpSilos[^1])).Length > 0,
            "a scaled-up silo with work in flight");
        var victim = replicas.ScaledUpSilos[^1];
        replicas.Forget(victim);
        var heldBeforeKill = (await cluster.LeasesOfAsync(victim)).Length;
        await cluster.Cluster.KillSiloAsync(victim);
        // The victim leases on until it dies, so what it held is read again once it is dead: its leases stay in Redis,
        // under its name, until membership declares it dead and recovery hands them back.
        var heldAtKill = Math.Max(heldBeforeKill, (await cluster.LeasesOfAsync(victim)).Length);
        await Eventually.TrueAsync(async () => (await cluster.Client.GetGrain<IBatchGrain>("scale").GetProgressAsync()).Done == 1000,
            "wave 1 done", TimeSpan.FromMinutes(2), cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => scaler.Replicas == 1, "scale-down to 1 silo");

        // Wave 2: the same again, without a crash.
        await submitter.SubmitAsync("scale", new BatchSpec(null, null), distinct[1000..].ToAsyncEnumerable(), CancellationToken.None);
        await Eventually.TrueAsync(() => scaler.Replicas == 4, "second scale-up to 4 silos");
        var batch = cluster.Client.GetGrain<IBatchGrain>("scale");
        await Eventually.TrueAsync(async () => (await batch.GetProgressAsync()).IsComplete,
            "wave 2 done", TimeSpan.FromMinutes(3), cluster.DescribeQueueAsync);
        var final = await batch.GetProgressAsync();
        await Eventually.TrueAsync(() => scaler.Replicas == 1, "second scale-down to 1 silo");
        stop.Cancel();
        await scaling;

        Assert.Equal(2000, final.Total);
        Assert.Equal(2000, final.Done);
        Assert.Equal(0, final.DeadLettered);
        Assert.Empty(await cluster.DeadLettersAsync());
        output.WriteLine($"replicas over time: {string.Join(" → ", scaler.History)}");
        Assert.True(scaler.CycledFully(times: 2), $"expected 1 → 4 → 1 twice, saw {string.Join(" → ", scaler.History)}");

        // Duplicate Ollama calls: answers Ollama gave beyond one per item. Only the items the killed silo had in flight
        // may be answered twice (once by it, once by the silo that took them over), and graceful scale-downs add none.
        var served = replicas.Started.Prepend(initial).Sum(s => cluster.SimulatorOf(s).GetStats().Served);
        var duplicates = served - 2000;
        var discarded = (long)await cluster.Db.HashGetAsync(cluster.Keys.Stats, "duplicates");
        output.WriteLine($"silos started: {replicas.Started.Count + 1}; killed silo held {heldAtKill} items; " +
                         $"duplicate Ollama calls: {duplicates}; duplicate results discarded: {discarded}");
        Assert.InRange(duplicates, 0, heldAtKill);
        Assert.InRange(discarded, 0, heldAtKill);
    }
}
