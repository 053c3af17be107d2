using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Worker;

/// <summary>An operator's drain can be undone; a silo's own drain on its way out cannot.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class UndrainTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task SiloShuttingDown_UndrainIsRefused_AndTheSiloStillLeaves()
    {
        await using var cluster = await LlmCluster.StartAsync(redis);
        var leaving = cluster.SiloAt(1);
        var staying = cluster.SiloAt(0);
        var address = cluster.OwnerOf(leaving);
        // Calls that never answer keep the leaving silo draining until Worker:DrainTimeout; it then hands them back.
        cluster.SimulatorOf(leaving).UpdateFaults(f => f with { HangRate = 1 });
        // Slow enough that the other silo can't finish everything before the leaving one leases.
        cluster.SimulatorOf(staying).SetSpeed(0.001);
        await cluster.PushRawAsync((await Cities.LoadAsync(20)).Select(c => c.Json));
        await Eventually.TrueAsync(async () => (await cluster.LeasesOfAsync(leaving)).Length > 0, "the leaving silo to hold a lease");
        cluster.SimulatorOf(staying).SetSpeed(1);

        var stopping = cluster.Cluster.StopSiloAsync(leaving);
        var worker = cluster.Client.GetGrain<IWorkerGrain>(address);
        await Eventually.TrueAsync(async () => (await worker.GetStatusAsync()).State == WorkerState.Draining, "the leaving worker to drain");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.Coordinator.UndrainAsync(address));

        output.WriteLine(refused.Message);
        Assert.Equal($"Silo {address} is shutting down; its worker can't take work again.", refused.Message);
        await stopping;
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 20, "20 results", describe: cluster.DescribeQueueAsync);
    }
}
