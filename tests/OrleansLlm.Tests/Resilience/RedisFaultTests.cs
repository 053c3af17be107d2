using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Options;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>
/// Redis going away under a running cluster: a clean restart, a SIGKILL restored from its AOF, an outage. Each
/// item is computed once and comes back once, and lease ids never repeat, also after a rollback to an older AOF.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class RedisFaultTests(ITestOutputHelper output)
{
    public static TheoryData<string> Outages => new() { "restart", "kill", "outage" };

    [Theory]
    [MemberData(nameof(Outages))]
    public async Task RedisGoesAway_MidRun_EveryItemOnce_OneOllamaCallEach(string outage)
    {
        await using var redis = await RedisProcess.StartAsync(new RedisProcessOptions { AppendOnly = true });
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.004 };
            o.Settings["Queue:MaxAttempts"] = "3";
        });
        var cities = await Cities.LoadAsync(300);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() >= 60, "some results before the outage");

        var clock = Stopwatch.StartNew();
        switch (outage)
        {
            case "restart":
                await redis.ShutdownAsync();
                await redis.RestartAsync();
                break;
            case "kill":
                await redis.KillAsync();
                await redis.RestartAsync();
                break;
            case "outage":
                await redis.ShutdownAsync();
                // The fault itself: Redis stays away this long while the silos keep trying.
                await Task.Delay(TimeSpan.FromSeconds(5));
                await redis.RestartAsync();
                break;
        }

        var back = clock.Elapsed;
        var before = await cluster.ResultCountAsync();
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() > before, "work to resume");
        var resumed = clock.Elapsed - back;
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 300, "300 results", describe: cluster.DescribeQueueAsync);

        var served = cluster.Simulators.Sum(s => s.GetStats().Served);
        BackendFaultTests.Report(output, $"Redis {outage}", 300, (int)await cluster.ResultCountAsync(), (await cluster.DeadLettersAsync()).Length,
            served - 300, $"work resumed {resumed.TotalSeconds:F1} s after Redis was back (it was away {back.TotalSeconds:F1} s)");
        Assert.Empty(await cluster.DeadLettersAsync());
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
        Assert.Equal(300, served);
    }

    [Fact]
    public async Task LeaseIds_NeverRepeat_AfterTheSequenceRollsBack()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var queue = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName() });
        await queue.Db.ListRightPushAsync(queue.Keys.Ready, ["a", "b"]);
        var first = (await queue.Queue.TakeAsync("silo-1", 1)).Single();

        // What a restart from an AOF older than the last lease does to the sequence.
        await queue.Db.StringSetAsync(queue.Keys.LeaseSequence, 0);
        // A real rollback means a Redis restart, which takes far longer than the millisecond the clock must move on.
        var issuedAt = long.Parse(first.Id.Split('-')[1][..^1]);
        await Eventually.TrueAsync(async () => RedisMilliseconds((RedisResult[])(await queue.Db.ExecuteAsync("TIME"))!) > issuedAt, "the Redis clock to pass the first lease's millisecond");
        var second = (await queue.Queue.TakeAsync("silo-2", 1)).Single();

        Assert.Equal(first.Id.Split('-')[0], second.Id.Split('-')[0]);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal("silo-1", (string?)await queue.Db.HashGetAsync(queue.Keys.Owners, first.Id));
    }

    private static long RedisMilliseconds(RedisResult[] time) => (long.Parse((string)time[0]!) * 1000) + (long.Parse((string)time[1]!) / 1000);
}
