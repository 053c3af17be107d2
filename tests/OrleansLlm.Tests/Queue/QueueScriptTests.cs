using System.Text.RegularExpressions;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Queue.Scripts;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The Lua scripts as a contract: the key names they use are the C# ones, and an error names its file and line.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class QueueScriptTests(RedisServer redis)
{
    [Fact]
    public async Task KeyNames_InTheScripts_AreQueueKeys()
    {
        var keys = new QueueKeys("{q}");
        var lua = await TestScripts.NamesAsync(redis.Connection.GetDatabase(), keys.Name, "b-1", "m:1b");

        var expected = new Dictionary<string, string>
        {
            ["ready"] = keys.Ready,
            ["inflight"] = keys.InFlight,
            ["owners"] = keys.Owners,
            ["deadlines"] = keys.Deadlines,
            ["retries"] = keys.Retries,
            ["lease_errors"] = keys.LeaseErrors,
            ["lease_seq"] = keys.LeaseSequence,
            ["item_seq"] = keys.ItemSequence,
            ["raw_state"] = keys.RawState,
            ["sched"] = keys.Scheduler,
            ["stats"] = keys.Stats,
            ["batches"] = keys.Batches,
            ["batch_deadlines"] = keys.BatchDeadlines,
            ["ended"] = keys.Ended,
            ["raw_days"] = keys.RawDays,
            ["class.high"] = keys.ReadyClass(BatchPriority.High),
            ["class.normal"] = keys.ReadyClass(BatchPriority.Normal),
            ["class.low"] = keys.ReadyClass(BatchPriority.Low),
            ["batch.batch"] = keys.Batch("b-1"),
            ["batch.items"] = keys.BatchItems("b-1"),
            ["batch.state"] = keys.BatchState("b-1"),
            ["batch.results"] = keys.Results("b-1"),
            ["batch.order"] = keys.ResultOrder("b-1"),
            ["batch.dead"] = keys.DeadLetters("b-1"),
            ["parked"] = keys.Parked("m:1b"),
            ["raw.results"] = keys.RawResults(1),
            ["raw.order"] = keys.RawResultOrder(1),
        };

        Assert.Equal(expected.OrderBy(p => p.Key), lua.Where(p => p.Key != "settled").OrderBy(p => p.Key));
        Assert.Matches($"^{Regex.Escape(keys.Name)}:settled:\\d+$", lua["settled"]);
        Assert.Equal(keys.OfBatch("b-1").Order(), lua.Where(p => p.Key.StartsWith("batch.", StringComparison.Ordinal)).Select(p => p.Value).Order());
    }

    [Fact]
    public async Task AnErrorInAScript_NamesTheFileAndTheLineItCameFrom()
    {
        var runner = new ScriptRunner(() => redis.Connection.GetDatabase(), new QueueKeys("q-errors"), QueuePolicy.From(new QueueOptions { Name = "q-errors" }, QueueClock.Redis));

        var error = await Assert.ThrowsAsync<RedisServerException>(() => runner.RunAsync(new NotANumberLease()));

        var at = Regex.Match(error.Message, @"lease/lease\.lua:(\d+):");
        Assert.True(at.Success, error.Message);
        var line = File.ReadAllLines(Path.Combine(RepoPaths.Root, "src/Grains/Queue/Scripts/lease/lease.lua"))[int.Parse(at.Groups[1].Value) - 1];
        Assert.Contains("lease_ms", line);
    }

    [Fact]
    public async Task AScriptRedisNoLongerHas_IsSentWhole_AndCachedAgain()
    {
        var runner = new ScriptRunner(() => redis.Connection.GetDatabase(), new QueueKeys("q-flushed"), QueuePolicy.From(new QueueOptions { Name = "q-flushed" }, QueueClock.Redis));
        var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
        await runner.RunAsync(new LeaseCall(1, TimeSpan.FromMinutes(1), "silo-1", Served: null, TimeSpan.Zero));

        // What a restarted Redis, or a new node, knows: no script. Calls go by SHA-1, so the first one is refused.
        await server.ScriptFlushAsync();
        Assert.False(await server.ScriptExistsAsync(LeaseCall.Script.Text));
        var leased = (RedisResult[])(await runner.RunAsync(new LeaseCall(1, TimeSpan.FromMinutes(1), "silo-1", Served: null, TimeSpan.Zero)))!;

        Assert.Equal(0, (int)leased[0]);
        Assert.True(await server.ScriptExistsAsync(LeaseCall.Script.Text));
    }

    // Lease with a lease duration that is not a number: Lua fails where it first does arithmetic with it.
    private sealed record NotANumberLease : IScriptCall
    {
        public static QueueScript Script => LeaseCall.Script;

        public RedisValue[] Arguments() => [1, "soon", "silo-1"];
    }
}
