using OrleansLlm.Client;
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
