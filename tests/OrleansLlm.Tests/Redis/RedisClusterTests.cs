using OrleansLlm.Client;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Redis;

/// <summary>OrleansLlm on a real three-master Redis Cluster, with the queue name carrying a hash tag.</summary>
[Trait("Category", "Cluster")]
public sealed class RedisClusterTests(RedisClusterFixture fixture, ITestOutputHelper output) : IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task TwoSilos_EnrichABatchAndRawItems_EveryQueueKeyInOneSlot()
    {
        var queue = "{" + LlmClusterOptions.NewQueueName() + "}";
        await using var cluster = await LlmCluster.StartAsync(fixture.Redis, o => o.QueueName = queue);
        var cities = await Cities.LoadAsync(120);
        var submitter = new BatchSubmitter(cluster.Client);

        await submitter.SubmitAsync("cluster-batch", new BatchSpec(null, null), cities.Take(100).ToAsyncEnumerable(), CancellationToken.None, chunkSize: 30);
        await cluster.PushRawAsync(cities.Skip(100).Select(c => c.Json));
        var final = await submitter.WaitAsync("cluster-batch", TimeSpan.FromMilliseconds(100), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 20, "20 raw results", describe: cluster.DescribeQueueAsync);

        Assert.Equal((100L, 100L, 0L), (final.Total!.Value, final.Done, final.DeadLettered));
        var results = await BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("cluster-batch"), CancellationToken.None, pageSize: 7).ToListAsync();
        Assert.Equal(cities.Take(100).Select(c => c.Id), results.Select(r => ResultDocument.Read(r).Id));

        // Every key of the queue (batch keys included) sits on one master, so every script could run there.
        var holders = new List<string>();
        foreach (var server in fixture.Redis.Connection.GetServers())
        {
            var keys = await server.KeysAsync(pattern: queue + "*").ToListAsync();
            output.WriteLine($"{server.EndPoint}: {keys.Count} keys of {queue}");
            if (keys.Count > 0)
            {
                holders.Add(server.EndPoint.ToString()!);
            }
        }

        Assert.Single(holders);
    }

    [Fact]
    public async Task ThreeShards_OnThreeMasters_ABatchCompletesEveryItemOnceInOrder_CancelAndDeleteReachEveryPart()
    {
        var queue = fixture.Redis.QueueNameOverMasters(LlmClusterOptions.NewQueueName(), 3, QueueShards.NameOf);
        await using var cluster = await LlmCluster.StartAsync(fixture.Redis, o =>
        {
            o.QueueName = queue;
            o.Settings["Queue:Shards"] = "3";
        });
        var cities = await Cities.LoadAsync(90);
        var submitter = new BatchSubmitter(cluster.Client);

        var before = await RedisCounters.ReadAsync(fixture.Redis.Connection);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await submitter.SubmitAsync("sharded", new BatchSpec(null, null), cities.ToAsyncEnumerable(), CancellationToken.None, chunkSize: 20);
        var final = await submitter.WaitAsync("sharded", TimeSpan.FromMilliseconds(100), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        output.WriteLine($"90 items over 3 shards on 3 masters in {clock.ElapsedMilliseconds} ms");
        var spent = (await RedisCounters.ReadAsync(fixture.Redis.Connection)).Select(after => after - before.Single(b => b.Endpoint == after.Endpoint)).ToArray();
        var (commands, cpu) = (spent.Sum(m => m.Commands), spent.Sum(m => m.CpuSeconds));
        foreach (var master in spent)
        {
            // Membership and the grain directory sit on one master too, so the shares are not even at this size.
            output.WriteLine($"{master.Endpoint}: {100.0 * master.Commands / commands:0}% of the commands, {100 * master.CpuSeconds / cpu:0}% of the Redis CPU");
        }

        Assert.Equal((90L, 90L, 0L, BatchStates.Completed), (final.Total!.Value, final.Done, final.DeadLettered, final.Status));
        var results = await BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("sharded"), CancellationToken.None, pageSize: 7).ToListAsync();
        Assert.Equal(cities.Select(c => c.Id), results.Select(r => ResultDocument.Read(r).Id));

        // Each partition's keys sit on one master, and the three partitions on three masters.
        var holders = new Dictionary<string, string>();
        foreach (var server in fixture.Redis.Connection.GetServers())
        {
            foreach (var key in await server.KeysAsync(pattern: $"{queue[..^1]}:*").ToListAsync())
            {
                var tag = ((string)key!)[..(((string)key!).IndexOf('}') + 1)];
                Assert.Equal(holders.GetValueOrDefault(tag, server.EndPoint.ToString()!), server.EndPoint.ToString());
                holders[tag] = server.EndPoint.ToString()!;
            }
        }

        output.WriteLine(string.Join(", ", holders.Select(h => $"{h.Key} on {h.Value}")));
        Assert.Equal(3, holders.Count);
        Assert.Equal(3, holders.Values.Distinct().Count());

        // A batch of a model no silo serves waits in every partition; cancel and delete reach each part.
        await submitter.SubmitAsync("unserved", new BatchSpec(null, null, Model: "nobody-serves:1b"), cities.Take(30).ToAsyncEnumerable(), CancellationToken.None, chunkSize: 30);
        var batch = cluster.Client.GetGrain<IBatchGrain>("unserved");
        var cancelled = await batch.CancelAsync(CancellationToken.None);
        Assert.Equal((30L, 0L, BatchStates.Cancelled), (cancelled.Removed, cancelled.Done, cancelled.Status));
        Assert.True(await batch.DeleteAsync(CancellationToken.None));
        Assert.False((await batch.GetProgressAsync(CancellationToken.None)).Exists);
    }

    [Fact]
    public async Task QueueNameWithoutHashTag_SiloRefusesToStart_SayingWhy()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => LlmCluster.StartAsync(fixture.Redis, o =>
        {
            o.Silos = 1;
            o.QueueName = LlmClusterOptions.NewQueueName();
        }));

        Assert.Contains("give Queue:Name a hash tag", Flatten(error));
    }

    private static string Flatten(Exception ex) => ex.InnerException is null ? ex.Message : $"{ex.Message} | {Flatten(ex.InnerException)}";
}
