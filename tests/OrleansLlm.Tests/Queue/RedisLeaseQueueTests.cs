using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>
/// The queue's lease scripts against a real Redis, raw items: every transition keeps each item in exactly one place.
/// Time is a fake clock the scripts read instead of Redis', so leases expire when the test says.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class RedisLeaseQueueTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = FakeClock.Now();
    private QueueHandle _handle = null!;

    private RedisLeaseQueue Queue => _handle.Queue;

    private QueueKeys Keys => _handle.Keys;

    private IDatabase Db => _handle.Db;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(
            redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), MaxAttempts = 2, LeaseDuration = LeaseDuration }, _time);

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    private async Task<long> CountAsync(string field, string batch = BatchIds.Default) => (long?)await Db.HashGetAsync(Keys.Batch(batch), field) ?? 0;

    [Fact]
    public async Task Lease_MovesItemsFromHeadIntoInFlight_EachUnderAFreshToken()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["a", "b", "c"]);

        var leases = await Queue.TakeAsync("silo-1", 2);

        Assert.Equal(["a", "b"], leases.Select(l => l.Payload));
        Assert.All(leases, l => Assert.Equal(0, l.FailedAttempts));
        Assert.NotEqual(leases[0].Id, leases[1].Id);
        Assert.Equal(1, await Db.ListLengthAsync(Keys.Ready));
        Assert.Equal(2, await Db.HashLengthAsync(Keys.InFlight));
        Assert.Equal("silo-1", (string?)await Db.HashGetAsync(Keys.Owners, leases[0].Id));
        Assert.Equal(2, await CountAsync("inflight"));
    }

    [Fact]
    public async Task Complete_StoresTheResult_AndEndsTheLease()
    {
        await Db.ListRightPushAsync(Keys.Ready, "{\"id\":\"x\"}");
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();

        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(lease, "silo-1", "{\"first\":true}"));

        Assert.Equal("{\"first\":true}", (await QueueHandle.RawResultsAsync(Db, Keys))["x"]);
        Assert.Equal((0L, 0L, 0L), (await Db.HashLengthAsync(Keys.InFlight), await Db.SortedSetLengthAsync(Keys.Deadlines), await Db.HashLengthAsync(Keys.RawState)));
        Assert.Equal((0L, 1L), (await CountAsync("inflight"), await CountAsync("done")));
    }

    [Fact]
    public async Task Fail_CountsTheAttemptAtOnce_AndTheNextLeaseAfterTheDelayRetriesIt_UnderANewToken()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item", "next"]);
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();

        Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(lease, "silo-1", "HTTP 500", TimeSpan.FromSeconds(3), CancellationToken.None));

        // Waiting for its retry, the item is still in flight (KEDA counts it) and owned by nobody; meanwhile leases take the next item.
        Assert.Equal(1, await Db.HashLengthAsync(Keys.InFlight));
        Assert.False(await Db.HashExistsAsync(Keys.Owners, lease.Id));
        Assert.Equal("next", (await Queue.TakeAsync("silo-2", 1)).Single().Payload);
        Assert.Empty(await Queue.TakeAsync("silo-2", 1));

        _time.Advance(TimeSpan.FromSeconds(3));
        var retried = (await Queue.TakeAsync("silo-2", 1)).Single();

        Assert.Equal(("item", 1), (retried.Payload, retried.FailedAttempts));
        Assert.NotEqual(lease.Id, retried.Id);
        Assert.Equal("silo-2", (string?)await Db.HashGetAsync(Keys.Owners, retried.Id));
        Assert.False(await Db.HashExistsAsync(Keys.InFlight, lease.Id));
    }

    [Fact]
    public async Task Fail_AtMaxAttempts_DeadLettersAtOnceWithTheError()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item"]);
        await Queue.FailAsync((await Queue.TakeAsync("silo-1", 1)).Single(), "silo-1");
        var second = (await Queue.TakeAsync("silo-2", 1)).Single();

        Assert.Equal(FailOutcome.DeadLettered, await Queue.FailAsync(second, "silo-2", "HTTP 502"));

        var dead = Assert.Single(await _handle.DeadLettersAsync());
        Assert.Equal(("HTTP 502", 2, BatchIds.Default), (dead.GetProperty("error").GetString(), dead.GetProperty("attempts").GetInt32(), dead.GetProperty("batch").GetString()));
        Assert.Equal(["silo-1", "silo-2"], dead.GetProperty("failed_on").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal((0L, 0L, 0L), (await Db.HashLengthAsync(Keys.InFlight), await Db.SortedSetLengthAsync(Keys.Retries), await Db.HashLengthAsync(Keys.RawState)));
        Assert.Equal((1L, 0L), (await CountAsync("dead"), await CountAsync("inflight")));
        Assert.Equal(1, (long)await Db.HashGetAsync(Keys.Stats, "dead"));
    }

    [Fact]
    public async Task Fail_ByAnotherOwner_ChangesNothing()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item"]);
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();

        Assert.Equal(FailOutcome.LeaseLost, await Queue.FailAsync(lease, "silo-2"));
        Assert.Equal("silo-1", (string?)await Db.HashGetAsync(Keys.Owners, lease.Id));
        Assert.Equal("l|0|" + lease.Id + "|", (string?)(await Db.HashValuesAsync(Keys.RawState)).Single());
    }

    [Fact]
    public async Task ExpiredLease_ReturnsToHeadWithAttemptCounted_ThenDeadLetters()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item", "next"]);
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();
        Assert.Equal((0, 0), await Queue.RequeueExpiredAsync(CancellationToken.None));

        _time.Advance(LeaseDuration + TimeSpan.FromMilliseconds(1));
        Assert.Equal((1, 0), await Queue.RequeueExpiredAsync(CancellationToken.None));

        Assert.Equal("item", (string?)await Db.ListGetByIndexAsync(Keys.Ready, 0));
        var again = (await Queue.TakeAsync("silo-2", 1)).Single();
        Assert.Equal(1, again.FailedAttempts);
        Assert.NotEqual(lease.Id, again.Id);

        _time.Advance(LeaseDuration + TimeSpan.FromMilliseconds(1));
        Assert.Equal((0, 1), await Queue.RequeueExpiredAsync(CancellationToken.None));

        Assert.Equal("lease expired (owner silo-2)", Assert.Single(await _handle.DeadLettersAsync()).GetProperty("error").GetString());
        Assert.Equal(["next"], (await Db.ListRangeAsync(Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(2, await Queue.RecoveredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task LateAnswer_AfterTheLeaseExpired_TakesTheRequeuedCopyBackOut_AndIsStoredOnce()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["{\"id\":\"slow\"}", "{\"id\":\"other\"}"]);
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();
        _time.Advance(LeaseDuration + TimeSpan.FromMilliseconds(1));
        await Queue.RequeueExpiredAsync(CancellationToken.None);

        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(lease, "silo-1"));

        Assert.Equal(["{\"id\":\"other\"}"], (await Db.ListRangeAsync(Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(0, await Db.HashLengthAsync(Keys.RawState));
        Assert.Equal((1L, 0L), (await CountAsync("done"), await CountAsync("late")));
    }

    [Fact]
    public async Task Recover_HandsBackEveryLeaseOfDeadOwners_AsAFailedAttempt()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["a", "b", "c"]);
        await Queue.TakeAsync("dead-silo", 2);
        var alive = (await Queue.TakeAsync("live-silo", 1)).Single();

        Assert.Equal((2, 0), await Queue.RecoverOwnersAsync(["dead-silo"], "silo declared dead", CancellationToken.None));

        Assert.Equal(["a", "b"], (await Db.ListRangeAsync(Keys.Ready)).Select(v => (string)v!).Order());
        Assert.Equal(1, await Db.HashLengthAsync(Keys.InFlight));
        Assert.True(await Db.HashExistsAsync(Keys.InFlight, alive.Id));
        Assert.All(await Queue.TakeAsync("live-silo", 2), l => Assert.Equal(1, l.FailedAttempts));
    }

    [Fact]
    public async Task Release_PutsItemsBackAtHeadInOrder_WithoutCountingAnAttempt()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["1", "2", "3"]);
        var leases = await Queue.TakeAsync("silo-1", 2);

        Assert.Equal(0, await Queue.ReleaseAsync("someone-else", leases.Select(l => l.Id).ToArray(), CancellationToken.None));
        Assert.Equal(2, await Queue.ReleaseAsync("silo-1", leases.Select(l => l.Id).ToArray(), CancellationToken.None));

        Assert.Equal(["1", "2", "3"], (await Db.ListRangeAsync(Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(0, await Db.HashLengthAsync(Keys.RawState));
        Assert.Equal(0, (await Queue.TakeAsync("silo-2", 1)).Single().FailedAttempts);
    }

    [Fact]
    public async Task Renew_OnlyExtendsLeasesTheOwnerHolds()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["r"]);
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();
        _time.Advance(TimeSpan.FromSeconds(50));

        Assert.Equal(0, await Queue.RenewAsync("silo-2", [lease.Id], CancellationToken.None));
        Assert.Equal(1, await Queue.RenewAsync("silo-1", [lease.Id], CancellationToken.None));

        Assert.Equal((_time.GetUtcNow() + LeaseDuration).ToUnixTimeMilliseconds(), await Db.SortedSetScoreAsync(Keys.Deadlines, lease.Id));
        _time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal((0, 0), await Queue.RequeueExpiredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task MalformedItem_DeadLettered_WithItsReason()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["not json"]);
        var lease = (await Queue.TakeAsync("silo-1", 1)).Single();

        Assert.True(await Queue.DeadLetterAsync(lease, "silo-1", "malformed item: not valid JSON", TokenUsage.Zero, CancellationToken.None));

        var dead = Assert.Single(await _handle.DeadLettersAsync());
        Assert.Equal(("malformed item: not valid JSON", "not json"), (dead.GetProperty("reason").GetString(), dead.GetProperty("item").GetString()));
        Assert.Equal(0, await Db.HashLengthAsync(Keys.InFlight));
    }

    [Fact]
    public async Task SameRawPayload_TwiceWhileInFlight_IsOneItemDeliveredTwice_CountedAsADuplicate()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["{\"id\":\"x\"}", "{\"id\":\"x\"}", "{\"id\":\"y\"}"]);

        var leases = await Queue.TakeAsync("silo-1", 3);

        Assert.Equal(["{\"id\":\"x\"}", "{\"id\":\"y\"}"], leases.Select(l => l.Payload));
        Assert.Equal(1, await CountAsync("duplicates"));
        Assert.Equal(0, await Db.ListLengthAsync(Keys.Ready));
    }

    [Fact]
    public async Task RawIdWithAResultAlready_CompleteChangesNothing_AndTheLeaseStillHolds()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["{\"id\":\"u\",\"city\":\"Uman\"}", "{\"id\":\"u\",\"city\":\"Umán\"}"]);
        var leases = await Queue.TakeAsync("silo-1", 2);
        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(leases[0], "silo-1", "{\"city\":\"Uman\"}"));

        Assert.Equal(CompleteOutcome.Conflict, await Queue.CompleteAsync(leases[1], "silo-1", "{\"city\":\"Umán\"}"));

        Assert.Equal("silo-1", (string?)await Db.HashGetAsync(Keys.Owners, leases[1].Id));
        Assert.Equal("{\"city\":\"Uman\"}", (await QueueHandle.RawResultsAsync(Db, Keys))["u"]);
        Assert.True(await Queue.DeadLetterAsync(leases[1], "silo-1", "duplicate id 'u'", TokenUsage.Zero, CancellationToken.None));
        Assert.Equal("{\"id\":\"u\",\"city\":\"Umán\"}", Assert.Single(await _handle.DeadLettersAsync()).GetProperty("item").GetString());
        Assert.Equal((1L, 1L, 0L), (await CountAsync("done"), await CountAsync("dead"), await CountAsync("inflight")));
    }

    [Fact]
    public async Task CompleteMany_GivesEachAnswerTheOutcomeItWouldHaveAlone_InOneCall()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["{\"id\":\"x\",\"v\":1}", "{\"id\":\"y\"}", "{\"id\":\"x\",\"v\":2}", "{\"id\":\"w\"}"]);
        var leases = await Queue.TakeAsync("silo-1", 4);
        CompleteRequest Answer(Lease lease, string owner = "silo-1") => new(lease, owner, QueueTestExtensions.ItemIdOf(lease), $"{{\"lease\":\"{lease.Id}\"}}", new TokenUsage(3, 2, TimeSpan.FromMilliseconds(7)));

        var outcomes = await Queue.CompleteManyAsync(
            [Answer(leases[0]), Answer(leases[1]), Answer(leases[2]), Answer(leases[0]), Answer(leases[3], "silo-2")], CancellationToken.None);

        // x; y; another item with x's id (nothing changed: its lease still holds); x again (its first outcome); w
        // answered by a silo that does not hold it: a late answer whose item has not ended is kept, its lease fenced.
        Assert.Equal([CompleteOutcome.Stored, CompleteOutcome.Stored, CompleteOutcome.Conflict, CompleteOutcome.Stored, CompleteOutcome.Stored], outcomes);
        var results = await QueueHandle.RawResultsAsync(Db, Keys);
        Assert.Equal($"{{\"lease\":\"{leases[0].Id}\"}}", results["x"]);
        Assert.Equal(["w", "x", "y"], results.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((3L, 1L, 9L, 6L, 21L), (await CountAsync("done"), await CountAsync("inflight"), await CountAsync("prompt_tokens"), await CountAsync("completion_tokens"), await CountAsync("backend_ms")));
        Assert.Equal([leases[2].Id], (await Db.HashKeysAsync(Keys.Owners)).Select(k => (string)k!));
        Assert.Equal([leases[2].Id], (await Db.SortedSetRangeByRankAsync(Keys.Deadlines)).Select(k => (string)k!));
        Assert.Equal(1, await Db.HashLengthAsync(Keys.RawState));

        // Sent again, as after a lost reply: the first outcomes, nothing spent twice.
        Assert.Equal(
            [CompleteOutcome.Stored, CompleteOutcome.Stored, CompleteOutcome.Stored],
            await Queue.CompleteManyAsync([Answer(leases[0]), Answer(leases[1]), Answer(leases[3], "silo-2")], CancellationToken.None));
        Assert.Equal((3L, 9L), (await CountAsync("done"), await CountAsync("prompt_tokens")));
    }

    [Fact]
    public async Task CompleteMany_TakesAtMostAGroupACall_AndMoreInSeveral()
    {
        var items = Enumerable.Range(0, RedisLeaseQueue.CompleteGroupMax + 6).Select(i => (RedisValue)$"{{\"id\":\"i{i}\"}}").ToArray();
        await Db.ListRightPushAsync(Keys.Ready, items);
        var leases = new List<Lease>();
        while (leases.Count < items.Length)
        {
            leases.AddRange(await Queue.TakeAsync("silo-1", 16));
        }

        var outcomes = await Queue.CompleteManyAsync(
            [.. leases.Select(l => new CompleteRequest(l, "silo-1", QueueTestExtensions.ItemIdOf(l), "{}", TokenUsage.Zero))], CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(CompleteOutcome.Stored, o));
        Assert.Equal((items.Length, 0L), (await CountAsync("done"), await Db.HashLengthAsync(Keys.InFlight)));
        var order = await Db.SortedSetRangeByRankAsync(Keys.RawResultOrder(_time.GetUtcNow().ToUnixTimeMilliseconds() / 86_400_000));
        Assert.Equal(leases.Select(QueueTestExtensions.ItemIdOf), order.Select(k => (string)k!));
    }

    [Fact]
    public async Task RawResults_RollOverByDay_AndExpireResultTtlAfterTheirDay()
    {
        await using var handle = await QueueHandle.ConnectAsync(
            redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), ResultTtl = TimeSpan.FromDays(2) }, _time);
        await handle.Db.ListRightPushAsync(handle.Keys.Ready, "{\"id\":\"today\"}");
        await handle.Queue.CompleteAsync((await handle.Queue.TakeAsync("silo-1", 1)).Single(), "silo-1");
        _time.Advance(TimeSpan.FromDays(1));
        await handle.Db.ListRightPushAsync(handle.Keys.Ready, "{\"id\":\"tomorrow\"}");
        await handle.Queue.CompleteAsync((await handle.Queue.TakeAsync("silo-1", 1)).Single(), "silo-1");

        var days = (await handle.Db.SortedSetRangeByRankAsync(handle.Keys.RawDays)).Select(d => (long)d).ToArray();

        Assert.Equal(2, days.Length);
        Assert.Equal(days[0] + 1, days[1]);
        Assert.Equal(["today"], (await handle.Db.HashKeysAsync(handle.Keys.RawResults(days[0]))).Select(k => (string)k!));
        var expiry = await handle.Db.KeyExpireTimeAsync(handle.Keys.RawResults(days[0]));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds((days[0] + 1) * 86_400_000) + TimeSpan.FromDays(2), new DateTimeOffset(expiry!.Value));
        // Both days read in order through the batch store, as 'results default' reads them.
        var page = await handle.Batches.GetResultsAsync(BatchIds.Default, null, 10, CancellationToken.None);
        var next = await handle.Batches.GetResultsAsync(BatchIds.Default, page.Next, 10, CancellationToken.None);
        Assert.Equal((1, 1), (page.Documents.Count, next.Documents.Count));
        Assert.Empty((await handle.Batches.GetResultsAsync(BatchIds.Default, next.Next, 10, CancellationToken.None)).Documents);
    }
}
