using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>No work lost at <c>Queue:Shards</c> 3 when a silo dies holding leases in several partitions.</summary>
[Collection(SlowRedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ShardedRecoveryTests(RedisServer redis, ITestOutputHelper output)
{
    // Each simulated request takes ~1.5 s alone (12.5 s × 0.12), on 2 slots per silo.
    private static SimulatorOptions SlowOllama(int _) => new() { Parallel = 2, TimeScale = 0.12 };

    [Fact]
    public async Task KilledSilo_ItsLeasesInEveryPartitionComeBack_TheBatchCompletesOnceInOrder()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = SlowOllama;
            o.Settings["Queue:Shards"] = "3";
            // Leases outlive the test: only membership declaring the silo dead can hand them back.
            o.Settings["Queue:LeaseDuration"] = "00:10:00";
        });
        var shards = new QueueShards(Microsoft.Extensions.Options.Options.Create(new QueueOptions { Name = cluster.QueueName, Shards = 3 }));
        var cities = await Cities.LoadAsync(6);
        var submitter = new BatchSubmitter(cluster.Client);
        await submitter.SubmitAsync("sharded", new BatchSpec(null, null), cities.ToAsyncEnumerable(), CancellationToken.None, chunkSize: 6);
        var victim = cluster.OwnerOf(cluster.SiloAt(1));
        // At least 2: the one in flight and the one leased ahead (more when its limit rose); polled, as it changes.
        await Eventually.TrueAsync(async () => await LeasesOfAsync(shards, cluster, victim) >= 2, "the victim to hold 2 leases",
            describe: async () => $"the victim holds {await LeasesOfAsync(shards, cluster, victim)}");

        var clock = Stopwatch.StartNew();
        await cluster.Cluster.KillSiloAsync(cluster.SiloAt(1));
        await Eventually.TrueAsync(async () => await LeasesOfAsync(shards, cluster, victim) == 0, "the victim's leases to be recovered");
        output.WriteLine($"leases of the killed silo recovered {clock.Elapsed.TotalSeconds:F1} s after the kill (leases last 10 minutes)");

        var final = await submitter.WaitAsync("sharded", TimeSpan.FromMilliseconds(100), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.Equal((6L, 6L, 0L, BatchStates.Completed), (final.Total!.Value, final.Done, final.DeadLettered, final.Status));
        var results = await BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("sharded"), CancellationToken.None, pageSize: 5).ToListAsync();
        Assert.Equal(cities.Select(c => c.Id), results.Select(r => ResultDocument.Read(r).Id));
        // What the victim held was answered by the survivor, nothing twice: what was in flight on its second attempt,
        // what was leased ahead too, unless the silo's stop (which an in-process kill starts) handed it back unstarted first.
        var attempts = results.Select(r => System.Text.Json.JsonDocument.Parse(r).RootElement.GetProperty("meta").GetProperty("attempts").GetInt32()).ToArray();
        Assert.Contains(2, attempts);
        Assert.All(attempts, a => Assert.InRange(a, 1, 2));
        Assert.Equal(6, attempts.Length);
    }

    private static async Task<int> LeasesOfAsync(QueueShards shards, LlmCluster cluster, string owner)
    {
        var held = 0;
        foreach (var keys in shards.Keys)
        {
            held += (await cluster.Db.HashValuesAsync(keys.Owners)).Count(v => v == owner);
        }

        return held;
    }
}
