using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The queue's Lua scripts against a real Redis: every transition keeps each item in exactly one place.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisWorkQueueTests(RedisServer redis)
{
    private readonly RedisWorkQueue _queue = new(redis.Connection, Microsoft.Extensions.Options.Options.Create(
        new QueueOptions { Name = LlmClusterOptions.NewQueueName(), MaxAttempts = 2 }));

    private IDatabase Db => redis.Connection.GetDatabase();

    [Fact]
    public async Task Lease_MovesItemsFromHeadIntoInFlight()
    {
        await Db.ListRightPushAsync(_queue.Keys.Ready, ["a", "b", "c"]);

        var leases = await _queue.LeaseAsync("silo-1", 2, TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(["a", "b"], leases.Select(l => l.Payload));
        Assert.All(leases, l => Assert.Equal(0, l.FailedAttempts));
        Assert.Equal(1, await Db.ListLengthAsync(_queue.Keys.Ready));
        Assert.Equal(2, await Db.HashLengthAsync(_queue.Keys.InFlight));
        Assert.Equal("silo-1", (string?)await Db.HashGetAsync(_queue.Keys.Owners, leases[0].Id));
    }

    [Fact]
    public async Task Complete_WritesOneResultPerId_AndCountsDuplicates()
    {
        await Db.ListRightPushAsync(_queue.Keys.Ready, ["x", "x"]);
        var leases = await _queue.LeaseAsync("silo-1", 2, TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.True(await _queue.CompleteAsync(leases[0], BatchIds.Default, "id-x", "{\"first\":true}", CancellationToken.None));
        Assert.False(await _queue.CompleteAsync(leases[1], BatchIds.Default, "id-x", "{\"first\":false}", CancellationToken.None));

        Assert.Equal("{\"first\":true}", (string?)await Db.HashGetAsync(_queue.Keys.Results(BatchIds.Default), "id-x"));
        Assert.Equal(1, (long)await Db.StringGetAsync(_queue.Keys.Duplicates));
        Assert.Equal(0, await Db.HashLengthAsync(_queue.Keys.InFlight));
        Assert.Equal(0, await Db.SortedSetLengthAsync(_queue.Keys.Deadlines));
    }

    [Fact]
    public async Task ExpiredLease_ReturnsToHeadWithAttemptCounted_ThenDeadLetters()
    {
        await Db.ListRightPushAsync(_queue.Keys.Ready, ["item", "next"]);
        var lease = (await _queue.LeaseAsync("silo-1", 1, TimeSpan.Zero, CancellationToken.None)).Single();

        await Eventually.TrueAsync(async () => (await _queue.RequeueExpiredAsync(CancellationToken.None)).Requeued == 1, "the lease to expire");

        Assert.Equal("item", (string?)await Db.ListGetByIndexAsync(_queue.Keys.Ready, 0));
        var again = (await _queue.LeaseAsync("silo-2", 1, TimeSpan.Zero, CancellationToken.None)).Single();
        Assert.Equal(1, again.FailedAttempts);
        await _queue.FailAsync(again, "silo-2", "HTTP 500", TimeSpan.Zero, CancellationToken.None);

        await Eventually.TrueAsync(async () => (await _queue.RequeueExpiredAsync(CancellationToken.None)).DeadLettered == 1, "the second failure to dead-letter");

        var dead = (string)(await Db.ListGetByIndexAsync(_queue.Keys.DeadLetter, 0))!;
        Assert.Contains("\"error\":\"HTTP 500\"", dead);
        Assert.Contains("\"attempts\":2", dead);
        Assert.Equal(["next"], (await Db.ListRangeAsync(_queue.Keys.Ready)).Select(v => (string)v!));
        Assert.Equal(0, await Db.HashLengthAsync(_queue.Keys.InFlight));
        Assert.NotEqual(lease.Id, again.Id);
    }

    [Fact]
    public async Task Release_PutsItemsBackAtHeadInOrder_WithoutCountingAnAttempt()
    {
        await Db.ListRightPushAsync(_queue.Keys.Ready, ["1", "2", "3"]);
        var leases = await _queue.LeaseAsync("silo-1", 2, TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(0, await _queue.ReleaseAsync("someone-else", leases.Select(l => l.Id).ToArray(), CancellationToken.None));
        Assert.Equal(2, await _queue.ReleaseAsync("silo-1", leases.Select(l => l.Id).ToArray(), CancellationToken.None));

        Assert.Equal(["1", "2", "3"], (await Db.ListRangeAsync(_queue.Keys.Ready)).Select(v => (string)v!));
        var again = await _queue.LeaseAsync("silo-2", 1, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(0, again.Single().FailedAttempts);
    }

    [Fact]
    public async Task Renew_OnlyExtendsLeasesTheOwnerHolds()
    {
        await Db.ListRightPushAsync(_queue.Keys.Ready, ["r"]);
        var lease = (await _queue.LeaseAsync("silo-1", 1, TimeSpan.FromSeconds(1), CancellationToken.None)).Single();

        Assert.Equal(0, await _queue.RenewAsync("silo-2", [lease.Id], TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.Equal(1, await _queue.RenewAsync("silo-1", [lease.Id], TimeSpan.FromMinutes(5), CancellationToken.None));

        var deadline = await Db.SortedSetScoreAsync(_queue.Keys.Deadlines, lease.Id);
        Assert.True(deadline > DateTimeOffset.UtcNow.AddMinutes(4).ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Enqueue_WrapsItemsInEnvelope_AndTracksBatchCounters()
    {
        await _queue.CreateBatchAsync("b1", new BatchSpec(null, null), CancellationToken.None);
        var added = await _queue.EnqueueAsync("b1", [new BatchItem("1", "{\"city\":\"Oslo\"}"), new BatchItem("1", "{\"city\":\"Oslo\"}")], CancellationToken.None);
        Assert.Equal(1, added);

        var lease = (await _queue.LeaseAsync("silo-1", 1, TimeSpan.FromMinutes(1), CancellationToken.None)).Single();
        Assert.Equal("b1", QueueItem.BatchOf(lease.Payload));
        Assert.Null(QueueItem.TryParse(lease.Payload, 1024, out var item));
        using (item)
        {
            Assert.Equal("1", item!.Id);
            Assert.Equal("Oslo", item.Item.GetProperty("city").GetString());
        }

        var progress = await _queue.GetProgressAsync("b1", CancellationToken.None);
        Assert.Equal((1L, 0L, 1L), (progress.Total!.Value, progress.Queued!.Value, progress.InFlight));
    }
}
