using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// A drain that meets an item whose call failed and whose backend is being probed to tell whose fault it was. The
/// probe is cut short with the calls at Worker:DrainTimeout, and the item goes back with the rest, no attempt spent.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class DrainProbeTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Drain_HandsBackAnItemWhoseBackendIsBeingProbed_AtItsTimeout()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.001 };
            o.Settings["Worker:DrainTimeout"] = "00:00:02";
            o.Settings["Ollama:ProbeTimeout"] = "00:02:00";
        });
        var simulator = cluster.Simulators[0];
        // The item's own call fails with HTTP 500 (perhaps the item, perhaps the backend); the probe that tells which hangs.
        simulator.UpdateFaults(f => f with { FailPromptContains = "Lima", HangRate = 1 });
        await cluster.PushRawAsync(["""{"city":"Lima","country":"Peru","id":"1604728603"}"""]);
        await Eventually.TrueAsync(() => Task.FromResult(simulator.GetStats().InFlight == 1 && simulator.GetStats().Failed >= 1), "the item's call to fail and the probe to hang");

        var clock = Stopwatch.StartNew();
        var address = cluster.OwnerOf(cluster.SiloAt(0));
        await cluster.Client.GetGrain<IWorkerGrain>(address).DrainAsync(null);
        await Eventually.TrueAsync(
            async () => (await cluster.Client.GetGrain<IWorkerGrain>(address).GetStatusAsync()).State == WorkerState.Drained,
            "the worker to drain within its timeout, well before the probe's",
            TimeSpan.FromSeconds(30));
        clock.Stop();

        output.WriteLine($"drained in {clock.Elapsed.TotalSeconds:F1} s (Worker:DrainTimeout 2 s, Ollama:ProbeTimeout 120 s)");
        Assert.Equal(["""{"city":"Lima","country":"Peru","id":"1604728603"}"""], (await cluster.Db.ListRangeAsync(cluster.Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
        // Handed back, not failed: no attempt spent, no record of a failure kept.
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.RawState));
    }
}
