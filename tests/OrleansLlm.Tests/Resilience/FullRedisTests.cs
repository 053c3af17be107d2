using System.Globalization;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>
/// A Redis that fills up. With <c>noeviction</c> a full Redis refuses every write, leases, results and Orleans
/// membership alike; batches stop taking items at the high-water mark, so what runs can still finish.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class FullRedisTests(ITestOutputHelper output)
{
    private const long MaxMemory = 48L * 1024 * 1024;

    [Fact]
    public async Task RedisAtTheHighWaterMark_SubmitIsRefused_RunningItemsAllFinish_AndTheSilosStayUp()
    {
        await using var redis = await RedisProcess.StartAsync();
        var server = redis.Connection.GetServer("127.0.0.1", redis.Port);
        await server.ConfigSetAsync("maxmemory", MaxMemory.ToString(CultureInfo.InvariantCulture));
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.02 });
        var submitter = new BatchSubmitter(cluster.Client);
        var cities = await Cities.LoadAsync(40);
        await submitter.SubmitAsync("running", new BatchSpec(null, null), cities.ToAsyncEnumerable(), CancellationToken.None);

        // Something else fills Redis past 80% of maxmemory while the batch runs.
        var filler = 0;
        while (await UsedShareAsync(redis) < 0.85)
        {
            await redis.Db.StringSetAsync($"filler:{filler++}", new string('x', 256 * 1024));
        }

        output.WriteLine($"Redis at {await UsedShareAsync(redis):P0} of {MaxMemory / 1024 / 1024} MB after {filler} filler keys");
        // A refusal is read at most once a second; wait out one reading taken before the fill.
        InvalidOperationException? refused = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await submitter.SubmitAsync($"late-{Guid.NewGuid():N}", new BatchSpec(null, null), cities.Take(5).ToAsyncEnumerable(), CancellationToken.None);
                    return false;
                }
                catch (InvalidOperationException ex) when (ex.Message.StartsWith("queue full:", StringComparison.Ordinal))
                {
                    refused = ex;
                    return true;
                }
            },
            "a new batch to be refused");

        output.WriteLine(refused!.Message);
        Assert.Matches(@"^queue full: Redis at \d+% of maxmemory", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);

        var final = await submitter.WaitAsync("running", TimeSpan.FromMilliseconds(100), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.Equal((40L, 0L, BatchStates.Completed), (final.Done, final.DeadLettered, final.Status));
        Assert.Equal(40, await cluster.ResultCountAsync("running"));
        // The silos are still members, and still answer.
        Assert.All(cluster.Cluster.Silos, s => Assert.True(s.IsActive));
        Assert.Equal(2, (await cluster.Coordinator.GetClusterAsync()).Workers.Count);
    }

    private static async Task<double> UsedShareAsync(RedisProcess redis)
    {
        var info = (string)(await redis.Db.ScriptEvaluateAsync("return redis.call('INFO', 'memory')"))!;
        var used = long.Parse(info.Split('\n').Single(l => l.StartsWith("used_memory:", StringComparison.Ordinal))["used_memory:".Length..].Trim(), CultureInfo.InvariantCulture);
        return (double)used / MaxMemory;
    }
}
