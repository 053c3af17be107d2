using System.Text.Json;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

[Collection(RedisCollection.Name)]
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
    public async Task Batch2000_ScalingOneToFourAndBackTwice_WithACrash_NothingLost()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.006 };
        });
        var initial = cluster.SiloAt(0);
        var scaler = new KedaScaleSimulator(cluster, target: 100, minReplicas: 1, maxReplicas: 4, TimeSpan.FromMilliseconds(250));
        using var stop = new CancellationTokenSource();
        var scaling = scaler.RunAsync(stop.Token);
        var items = await Cities.LoadAsync(2001);
        var distinct = items.DistinctBy(i => i.Id).Take(2000).ToArray();
        var submitter = new BatchSubmitter(cluster.Client);

        // Wave 1: scale up to 4, crash one scaled-up silo mid-batch, scale back to 1.
        await submitter.SubmitAsync("scale", new BatchSpec(null, null), distinct[..1000], CancellationToken.None);
        await Eventually.TrueAsync(() => scaler.Replicas == 4, "scale-up to 4 silos");
        await Eventually.TrueAsync(async () => scaler.ScaledUpSilos.Count > 0 && (await cluster.LeasesOfAsync(scaler.ScaledUpSilos[^1])).Length > 0,
            "a scaled-up silo with work in flight");
        var victim = scaler.ScaledUpSilos[^1];
        scaler.Forget(victim);
        var heldAtKill = (await cluster.LeasesOfAsync(victim)).Length;
        await cluster.Cluster.KillSiloAsync(victim);
        await Eventually.TrueAsync(async () => (await cluster.Client.GetGrain<IBatchGrain>("scale").GetProgressAsync()).Done == 1000,
            "wave 1 done", TimeSpan.FromMinutes(2), cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => scaler.Replicas == 1, "scale-down to 1 silo");

        // Wave 2: the same again, without a crash.
        await submitter.SubmitAsync("scale", new BatchSpec(null, null), distinct[1000..], CancellationToken.None);
        await Eventually.TrueAsync(() => scaler.Replicas == 4, "second scale-up to 4 silos");
        var final = await submitter.WaitAsync("scale", TimeSpan.FromMilliseconds(200), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        await Eventually.TrueAsync(() => scaler.Replicas == 1, "second scale-down to 1 silo");
        stop.Cancel();
        await scaling;

        Assert.Equal(2000, final.Total);
        Assert.Equal(2000, final.Done);
        Assert.Equal(0, final.DeadLettered);
        Assert.Empty(await cluster.DeadLettersAsync());
        output.WriteLine($"replicas over time: {string.Join(" → ", scaler.History)}");
        Assert.True(CountPeaks(scaler.History) >= 2, $"expected 1 → 4 → 1 twice, saw {string.Join(" → ", scaler.History)}");

        // Duplicate Ollama calls: answers Ollama gave beyond one per item. Only the items the killed silo had in flight
        // may be answered twice (once by it, once by the silo that took them over), and graceful scale-downs add none.
        var served = scaler.Started.Prepend(initial).Sum(s => cluster.SimulatorOf(s).GetStats().Served);
        var duplicates = served - 2000;
        var discarded = (long)await cluster.Db.StringGetAsync(cluster.Keys.Duplicates);
        output.WriteLine($"silos started: {scaler.Started.Count + 1}; killed silo held {heldAtKill} items; " +
                         $"duplicate Ollama calls: {duplicates}; duplicate results discarded: {discarded}");
        Assert.InRange(duplicates, 0, heldAtKill);
        Assert.InRange(discarded, 0, heldAtKill);
    }

    private static int CountPeaks(List<int> history)
    {
        var peaks = 0;
        var up = false;
        foreach (var replicas in history)
        {
            if (replicas == 4)
            {
                up = true;
            }
            else if (replicas == 1 && up)
            {
                peaks++;
                up = false;
            }
        }

        return peaks;
    }
}
