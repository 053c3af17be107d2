using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The queue's Lua scripts against a real Redis: every transition keeps each item in exactly one place.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisLeaseQueueTests(RedisServer redis) : IAsyncLifetime
{
    private QueueHandle _handle = null!;

    private RedisLeaseQueue Queue => _handle.Queue;

    private QueueKeys Keys => _handle.Keys;

    private IDatabase Db => _handle.Db;

    public async Task InitializeAsync() => _handle = await Connect(TimeSpan.FromMinutes(1));

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    private Task<QueueHandle> Connect(TimeSpan leaseDuration, string? name = null) =>
        QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = name ?? LlmClusterOptions.NewQueueName(), MaxAttempts = 2, LeaseDuration = leaseDuration });

    [Fact]
    public async Task Lease_MovesItemsFromHeadIntoInFlight()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["a", "b", "c"]);

        var leases = await Queue.LeaseAsync("silo-1", 2, CancellationToken.None);

        Assert.Equal(["a", "b"], leases.Select(l => l.Payload));
        Assert.All(leases, l => Assert.Equal(0, l.FailedAttempts));
        Assert.Equal(1, await Db.ListLengthAsync(Keys.Ready));
        Assert.Equal(2, await Db.HashLengthAsync(Keys.InFlight));
        Assert.Equal("silo-1", (string?)await Db.HashGetAsync(Keys.Owners, leases[0].Id));
        Assert.Equal(2, (long)await Db.HashGetAsync(Keys.BatchInFlight, BatchIds.Default));
    }

    [Fact]
    public async Task Complete_WritesOneResultPerId_AndCountsDuplicates()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["x", "x"]);
        var leases = await Queue.LeaseAsync("silo-1", 2, CancellationToken.None);

        Assert.True(await Queue.CompleteAsync(leases[0], "silo-1", BatchIds.Default, "id-x", "{\"first\":true}", CancellationToken.None));
        Assert.False(await Queue.CompleteAsync(leases[1], "silo-1", BatchIds.Default, "id-x", "{\"first\":false}", CancellationToken.None));

        Assert.Equal("{\"first\":true}", (string?)await Db.HashGetAsync(Keys.Results(BatchIds.Default), "id-x"));
        Assert.Equal(1, (long)await Db.StringGetAsync(Keys.Duplicates));
        Assert.Equal(0, await Db.HashLengthAsync(Keys.InFlight));
        Assert.Equal(0, await Db.SortedSetLengthAsync(Keys.Deadlines));
        Assert.Equal(0, (long)await Db.HashGetAsync(Keys.BatchInFlight, BatchIds.Default));
    }

    [Fact]
    public async Task Fail_CountsTheAttemptAtOnce_AndTheNextLeaseAfterTheDelayRetriesIt()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item", "next"]);
        var lease = (await Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();

        Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(lease, "silo-1", "HTTP 500", TimeSpan.FromMilliseconds(300), CancellationToken.None));

        // Waiting for its retry, the item is still in flight (KEDA counts it) and owned by nobody; meanwhile leases take the next item.
        Assert.Equal(1, await Db.HashLengthAsync(Keys.InFlight));
        Assert.False(await Db.HashExistsAsync(Keys.Owners, lease.Id));
        var meanwhile = (await Queue.LeaseAsync("silo-2", 1, CancellationToken.None)).Single();
        Assert.Equal("next", meanwhile.Payload);

        Lease? retried = null;
        await Eventually.TrueAsync(async () => (retried = (await Queue.LeaseAsync("silo-2", 1, CancellationToken.None)).SingleOrDefault()) is not null,
            "the failed item to come back after its retry delay");
        Assert.Equal(("item", lease.Id, 1), (retried!.Payload, retried.Id, retried.FailedAttempts));
        Assert.Equal("silo-2", (string?)await Db.HashGetAsync(Keys.Owners, lease.Id));
    }

    [Fact]
    public async Task Fail_AtMaxAttempts_DeadLettersAtOnceWithTheError()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item"]);
        var first = (await Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();
        await Queue.FailAsync(first, "silo-1", "HTTP 500", TimeSpan.Zero, CancellationToken.None);
        var second = (await Queue.LeaseAsync("silo-2", 1, CancellationToken.None)).Single();

        Assert.Equal(FailOutcome.DeadLettered, await Queue.FailAsync(second, "silo-2", "HTTP 502", TimeSpan.Zero, CancellationToken.None));

        var dead = (string)(await Db.ListGetByIndexAsync(Keys.DeadLetter, 0))!;
        Assert.Contains("\"error\":\"HTTP 502\"", dead);
        Assert.Contains("\"attempts\":2", dead);
        Assert.Equal(0, await Db.HashLengthAsync(Keys.InFlight));
        Assert.Equal(0, await Db.SortedSetLengthAsync(Keys.Retries));
        Assert.Equal(0, await Db.HashLengthAsync(Keys.Attempts));
        Assert.Equal(1, (long)await Db.HashGetAsync(Keys.BatchDead, BatchIds.Default));
        Assert.Equal(0, (long)await Db.HashGetAsync(Keys.BatchInFlight, BatchIds.Default));
    }

    [Fact]
    public async Task Fail_ByAnotherOwner_ChangesNothing()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["item"]);
        var lease = (await Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();

        Assert.Equal(FailOutcome.LeaseLost, await Queue.FailAsync(lease, "silo-2", "HTTP 500", TimeSpan.Zero, CancellationToken.None));
        Assert.Equal("silo-1", (string?)await Db.HashGetAsync(Keys.Owners, lease.Id));
        Assert.Equal(0, await Db.HashLengthAsync(Keys.Attempts));
    }

    [Fact]
    public async Task ExpiredLease_ReturnsToHeadWithAttemptCounted_ThenDeadLetters()
    {
        await using var shortLeases = await Connect(TimeSpan.Zero);
        await shortLeases.Db.ListRightPushAsync(shortLeases.Keys.Ready, ["item", "next"]);
        var lease = (await shortLeases.Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();

        await Eventually.TrueAsync(async () => (await shortLeases.Queue.RequeueExpiredAsync(CancellationToken.None)).Requeued == 1, "the lease to expire");

        Assert.Equal("item", (string?)await shortLeases.Db.ListGetByIndexAsync(shortLeases.Keys.Ready, 0));
        var again = (await shortLeases.Queue.LeaseAsync("silo-2", 1, CancellationToken.None)).Single();
        Assert.Equal(1, again.FailedAttempts);
        Assert.NotEqual(lease.Id, again.Id);

        await Eventually.TrueAsync(async () => (await shortLeases.Queue.RequeueExpiredAsync(CancellationToken.None)).DeadLettered == 1, "the second expiry to dead-letter");

        var dead = (string)(await shortLeases.Db.ListGetByIndexAsync(shortLeases.Keys.DeadLetter, 0))!;
        Assert.Contains("lease expired (owner silo-2)", dead);
        Assert.Equal(["next"], (await shortLeases.Db.ListRangeAsync(shortLeases.Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(2, await shortLeases.Queue.RecoveredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Complete_AfterTheLeaseExpired_TakesTheRequeuedCopyBackOut()
    {
        await using var shortLeases = await Connect(TimeSpan.Zero);
        await shortLeases.Db.ListRightPushAsync(shortLeases.Keys.Ready, ["slow", "other"]);
        var lease = (await shortLeases.Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();
        await Eventually.TrueAsync(async () => (await shortLeases.Queue.RequeueExpiredAsync(CancellationToken.None)).Requeued == 1, "the lease to expire");

        Assert.True(await shortLeases.Queue.CompleteAsync(lease, "silo-1", BatchIds.Default, "slow", "{}", CancellationToken.None));

        Assert.Equal(["other"], (await shortLeases.Db.ListRangeAsync(shortLeases.Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(0, await shortLeases.Db.HashLengthAsync(shortLeases.Keys.Attempts));
    }

    [Fact]
    public async Task Recover_HandsBackEveryLeaseOfDeadOwners_AsAFailedAttempt()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["a", "b", "c"]);
        await Queue.LeaseAsync("dead-silo", 2, CancellationToken.None);
        var alive = (await Queue.LeaseAsync("live-silo", 1, CancellationToken.None)).Single();

        Assert.Equal((2, 0), await Queue.RecoverOwnersAsync(["dead-silo"], "silo declared dead", CancellationToken.None));

        Assert.Equal(["a", "b"], (await Db.ListRangeAsync(Keys.Ready)).Select(v => (string)v!).Order());
        Assert.Equal(1, await Db.HashLengthAsync(Keys.InFlight));
        Assert.True(await Db.HashExistsAsync(Keys.InFlight, alive.Id));
        Assert.All(await Queue.LeaseAsync("live-silo", 2, CancellationToken.None), l => Assert.Equal(1, l.FailedAttempts));
    }

    [Fact]
    public async Task Release_PutsItemsBackAtHeadInOrder_WithoutCountingAnAttempt()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["1", "2", "3"]);
        var leases = await Queue.LeaseAsync("silo-1", 2, CancellationToken.None);

        Assert.Equal(0, await Queue.ReleaseAsync("someone-else", leases.Select(l => l.Id).ToArray(), CancellationToken.None));
        Assert.Equal(2, await Queue.ReleaseAsync("silo-1", leases.Select(l => l.Id).ToArray(), CancellationToken.None));

        Assert.Equal(["1", "2", "3"], (await Db.ListRangeAsync(Keys.Ready)).Select(v => (string)v!));
        var again = await Queue.LeaseAsync("silo-2", 1, CancellationToken.None);
        Assert.Equal(0, again.Single().FailedAttempts);
    }

    [Fact]
    public async Task Renew_OnlyExtendsLeasesTheOwnerHolds()
    {
        await using var longLeases = await Connect(TimeSpan.FromMinutes(5));
        await longLeases.Db.ListRightPushAsync(longLeases.Keys.Ready, ["r"]);
        var lease = (await longLeases.Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();

        Assert.Equal(0, await longLeases.Queue.RenewAsync("silo-2", [lease.Id], CancellationToken.None));
        Assert.Equal(1, await longLeases.Queue.RenewAsync("silo-1", [lease.Id], CancellationToken.None));

        var deadline = await longLeases.Db.SortedSetScoreAsync(longLeases.Keys.Deadlines, lease.Id);
        Assert.True(deadline > DateTimeOffset.UtcNow.AddMinutes(4).ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task MalformedItem_DeadLettered_WithItsReason()
    {
        await Db.ListRightPushAsync(Keys.Ready, ["not json"]);
        var lease = (await Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();

        await Queue.DeadLetterAsync(lease, "silo-1", "malformed item: not valid JSON", CancellationToken.None);

        var dead = (string)(await Db.ListGetByIndexAsync(Keys.DeadLetter, 0))!;
        Assert.Contains("\"reason\":\"malformed item: not valid JSON\"", dead);
        Assert.Contains("\"item\":\"not json\"", dead);
        Assert.Equal(0, await Db.HashLengthAsync(Keys.InFlight));
    }
}
