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
        // No item paid for the outage: a lease whose reply was lost is handed back, not left to expire.
        Assert.All((await cluster.ResultsAsync()).Values, r => Assert.Equal(1, r.GetProperty("meta").GetProperty("attempts").GetInt32()));
    }

    [Fact]
    public async Task ALeaseItsWorkerNeverHeardOf_IsHandedBack_NotLeftToExpire()
    {
        // Far longer than the test waits: the item can only come back by being handed back, not by its lease expiring.
        var leaseDuration = TimeSpan.FromMinutes(10);
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Settings["Queue:LeaseDuration"] = leaseDuration.ToString());
        var owner = cluster.OwnerOf(cluster.SiloAt(0));
        foreach (var silo in cluster.Cluster.Silos)
        {
            await cluster.Coordinator.DrainAsync(cluster.OwnerOf(silo));
        }

        await Eventually.TrueAsync(async () => await AllDrainedAsync(cluster), "both workers to drain");
        await using var queue = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = cluster.QueueName, LeaseDuration = leaseDuration });
        var city = (await Cities.LoadAsync(1)).Single();
        await cluster.PushRawAsync([city.Json]);
        // What a lease call leaves when Redis ran it but its reply never reached the worker: a lease in the worker's name.
        var unknown = (await queue.Queue.TakeAsync(owner, 1)).Single();

        await cluster.Coordinator.UndrainAsync(owner);

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 1, "the item's result", describe: cluster.DescribeQueueAsync);
        var meta = (await cluster.ResultsAsync()).Values.Single().GetProperty("meta");
        output.WriteLine($"lease {unknown.Id} handed back; answered by {meta.GetProperty("silo")} at attempt {meta.GetProperty("attempts")}");
        Assert.Equal(1, meta.GetProperty("attempts").GetInt32());
        Assert.Equal(owner, meta.GetProperty("silo").GetString());
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
    }

    /// <summary>
    /// Orleans carries only exceptions of the Microsoft, System and Azure namespaces across a grain call by default:
    /// StackExchange.Redis' used to reach the caller (the CLI, the Batch API on another silo) as a
    /// <c>CodecNotFoundException</c> naming the type, with what Redis said lost.
    /// </summary>
    [Fact]
    public async Task ARedisTimeoutInAGrain_ReachesTheCaller_AsItself()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = await LlmCluster.StartAsync(redis);
        var batch = cluster.Client.GetGrain<IBatchGrain>($"t-{Guid.NewGuid():N}"[..14]);

        // Redis takes no writes for longer than the silo waits for one (StackExchange.Redis' 5 s): creating the batch
        // times out in the silo. The pause ends as soon as the call has failed.
        await cluster.Db.ExecuteAsync("CLIENT", "PAUSE", "30000", "WRITE");
        Exception failure;
        try
        {
            failure = await Assert.ThrowsAnyAsync<Exception>(() => batch.CreateAsync(new BatchSpec(null, null)));
        }
        finally
        {
            await cluster.Db.ExecuteAsync("CLIENT", "UNPAUSE");
        }

        output.WriteLine($"{failure.GetType().FullName}: {failure.Message}");
        Assert.IsType<RedisTimeoutException>(failure);
        Assert.StartsWith("Timeout ", failure.Message);
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

    private static async Task<bool> AllDrainedAsync(LlmCluster cluster)
    {
        foreach (var silo in cluster.Cluster.Silos)
        {
            if ((await cluster.Client.GetGrain<IWorkerGrain>(cluster.OwnerOf(silo)).GetStatusAsync()).State != WorkerState.Drained)
            {
                return false;
            }
        }

        return true;
    }
}
