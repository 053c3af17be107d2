using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>What a batch leaves in Redis: kept <c>Queue:ResultTtl</c> after it ends, then gone, every key of it; and <c>delete</c>.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class RetentionTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _time = FakeClock.Now();
    private QueueHandle _handle = null!;

    private RedisBatchStore Store => _handle.Batches;

    private IDatabase Db => _handle.Db;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(
            redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), MaxAttempts = 1, ResultTtl = Ttl }, _time);

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task EndedBatch_EveryKeyExpiresResultTtlAfterItEnded_ThenPurgeForgetsItsIndexEntries()
    {
        await SubmitAsync("b", 3);
        var leases = await _handle.Queue.TakeAsync("silo-1", 3);
        await _handle.Queue.CompleteAsync(leases[0], "silo-1");
        await _handle.Queue.FailAsync(leases[1], "silo-1");
        Assert.Null((await Store.GetCountsAsync("b", CancellationToken.None)).Ended);
        _time.Advance(TimeSpan.FromMinutes(5));
        await _handle.Queue.CompleteAsync(leases[2], "silo-1");

        var counts = await Store.GetCountsAsync("b", CancellationToken.None);
        Assert.Equal((BatchStates.Completed, _time.GetUtcNow(), _time.GetUtcNow() + Ttl), (counts.Status, counts.Ended, counts.Expires));
        foreach (var key in _handle.Keys.OfBatch("b").Where(k => k != _handle.Keys.BatchState("b")))
        {
            Assert.Equal(_time.GetUtcNow() + Ttl, new DateTimeOffset((await Db.KeyExpireTimeAsync(key))!.Value, TimeSpan.Zero));
        }

        Assert.False(await Db.KeyExistsAsync(_handle.Keys.BatchState("b")));
        Assert.Equal(1, (long)await Db.HashGetAsync(_handle.Keys.Stats, "dead"));

        Assert.Equal(0, await Store.PurgeAsync(CancellationToken.None));
        _time.Advance(Ttl);
        Assert.Equal(1, await Store.PurgeAsync(CancellationToken.None));

        foreach (var key in _handle.Keys.OfBatch("b"))
        {
            Assert.False(await Db.KeyExistsAsync(key), key);
        }

        Assert.Null(await Db.SortedSetScoreAsync(_handle.Keys.Batches, "b"));
        Assert.Null(await Db.SortedSetScoreAsync(_handle.Keys.Ended, "b"));
        Assert.False(await Db.HashExistsAsync(_handle.Keys.Scheduler, "dead:b"));
        Assert.Equal(0, (long)await Db.HashGetAsync(_handle.Keys.Stats, "dead"));
    }

    [Fact]
    public async Task ResultTtlZero_KeepsAnEndedBatchForEver()
    {
        await using var keep = await QueueHandle.ConnectAsync(
            redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), ResultTtl = TimeSpan.Zero }, _time);
        await keep.Batches.CreateAsync("b", new BatchSpec(null, null), CancellationToken.None);
        await keep.Items.EnqueueAsync("b", [new BatchItem("1", "{}")], CancellationToken.None);
        await keep.Batches.SealAsync("b", CancellationToken.None);
        await keep.Queue.CompleteAsync((await keep.Queue.TakeAsync("silo-1", 1)).Single(), "silo-1");

        Assert.NotNull((await keep.Batches.GetCountsAsync("b", CancellationToken.None)).Ended);
        Assert.Null(await keep.Db.KeyExpireTimeAsync(keep.Keys.Results("b")));
        Assert.Equal(0, await keep.Db.SortedSetLengthAsync(keep.Keys.Ended));
    }

    [Fact]
    public async Task RetryOfAnEndedBatch_KeepsItsKeysAgain_UntilItEndsOnceMore()
    {
        await SubmitAsync("b", 1);
        await _handle.Queue.FailAsync((await _handle.Queue.TakeAsync("silo-1", 1)).Single(), "silo-1");
        Assert.NotNull(await Db.KeyExpireTimeAsync(_handle.Keys.Batch("b")));

        Assert.Equal((1L, 0L), await _handle.Items.RetryDeadAsync("b", CancellationToken.None));

        Assert.Null(await Db.KeyExpireTimeAsync(_handle.Keys.Batch("b")));
        Assert.Null(await Db.KeyExpireTimeAsync(_handle.Keys.DeadLetters("b")));
        Assert.Null(await Db.SortedSetScoreAsync(_handle.Keys.Ended, "b"));
        _time.Advance(Ttl * 2);
        Assert.Equal(0, await Store.PurgeAsync(CancellationToken.None));
        await _handle.Queue.CompleteAsync((await _handle.Queue.TakeAsync("silo-1", 1)).Single(), "silo-1");
        Assert.NotNull(await Db.KeyExpireTimeAsync(_handle.Keys.Batch("b")));
    }

    [Fact]
    public async Task Delete_OfAnEndedBatch_RemovesEverythingNow()
    {
        await SubmitAsync("b", 2);
        foreach (var lease in await _handle.Queue.TakeAsync("silo-1", 2))
        {
            await _handle.Queue.FailAsync(lease, "silo-1");
        }

        Assert.Equal("deleted", await Store.DeleteAsync("b", CancellationToken.None));

        foreach (var key in _handle.Keys.OfBatch("b"))
        {
            Assert.False(await Db.KeyExistsAsync(key), key);
        }

        Assert.Null(await Db.SortedSetScoreAsync(_handle.Keys.Batches, "b"));
        Assert.Equal(0, (long)await Db.HashGetAsync(_handle.Keys.Stats, "dead"));
        Assert.Equal("missing", await Store.DeleteAsync("b", CancellationToken.None));
    }

    [Fact]
    public async Task Delete_OfARunningBatch_RemovesWhatIsQueued_AndTheRestWhenItsLastItemInFlightEnds()
    {
        await SubmitAsync("b", 700);
        var leases = await _handle.Queue.TakeAsync("silo-1", 2);

        Assert.Equal("deleting", await Store.DeleteAsync("b", CancellationToken.None));

        var counts = await Store.GetCountsAsync("b", CancellationToken.None);
        Assert.Equal((BatchStates.Cancelling, 698L, 2L), (counts.Status, counts.Removed, counts.InFlight));
        Assert.Equal(0, await Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.Normal)));
        await _handle.Queue.CompleteAsync(leases[0], "silo-1");
        Assert.True(await Db.KeyExistsAsync(_handle.Keys.Batch("b")));
        await _handle.Queue.ReleaseAsync("silo-1", [leases[1].Id], CancellationToken.None);

        foreach (var key in _handle.Keys.OfBatch("b"))
        {
            Assert.False(await Db.KeyExistsAsync(key), key);
        }

        Assert.Null(await Db.SortedSetScoreAsync(_handle.Keys.Batches, "b"));
    }

    private async Task SubmitAsync(string batchId, int count)
    {
        await Store.CreateAsync(batchId, new BatchSpec(null, null), CancellationToken.None);
        var items = Enumerable.Range(0, count).Select(i => new BatchItem($"{batchId}-{i}", "{\"city\":\"Oslo\"}")).ToArray();
        Assert.Equal(count, await _handle.Items.EnqueueAsync(batchId, items, CancellationToken.None));
        await Store.SealAsync(batchId, CancellationToken.None);
    }
}
