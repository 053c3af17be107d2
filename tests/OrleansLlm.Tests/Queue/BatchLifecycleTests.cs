using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using OrleansLlm.Tests.Infrastructure;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Queue;

/// <summary>Cancel, retry and the deadline in the batch store's scripts, against a real Redis; time from a fake clock.</summary>
[Collection(RedisCollection.Name)]
public sealed class BatchLifecycleTests(RedisServer redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-03-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly QueueOptions _options = new() { Name = LlmClusterOptions.NewQueueName(), MaxAttempts = 1 };
    private QueueHandle _handle = null!;
    private RedisConnection _connection = null!;
    private RedisBatchStore _store = null!;

    public async Task InitializeAsync()
    {
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, _options);
        _connection = new RedisConnection(
            MsOptions.Create(new RedisOptions { ConnectionString = redis.ConnectionString }), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisConnection>.Instance);
        await _connection.ConnectAsync();
        _store = new RedisBatchStore(_connection, MsOptions.Create(_options), _time);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _handle.DisposeAsync();
    }

    [Fact]
    public async Task Stop_RemovesTheQueuedItemsAtOnce_InFlightOnesFinish_AndEveryItemIsCounted()
    {
        await SubmitAsync("c", 700, BatchPriority.Normal); // more than one ZSCAN page
        await SubmitAsync("other", 5, BatchPriority.Normal);
        var leases = await _handle.Queue.LeaseAsync("silo-1", 4, CancellationToken.None);

        var (stopped, removed) = await _store.StopAsync("c", BatchStates.Cancelled, CancellationToken.None);

        Assert.Equal(BatchStates.Cancelled, stopped);
        var inFlightOfC = leases.Count(l => Envelope.BatchOf(l.Payload) == "c");
        Assert.Equal(700 - inFlightOfC, removed);
        var counts = await _store.GetCountsAsync("c", CancellationToken.None);
        Assert.Equal((BatchStates.Cancelled, 700 - inFlightOfC, (long)inFlightOfC), (counts.Stopped, counts.Removed, counts.InFlight));
        Assert.Equal(BatchStates.Cancelling, BatchStates.Of(true, counts.Stopped, counts.Total, counts.InFlight, counts.Done, counts.DeadLettered, counts.Removed));

        // In flight: a result is kept; one handed back is removed, not queued again.
        var ofC = leases.Where(l => Envelope.BatchOf(l.Payload) == "c").ToArray();
        Assert.True(await _handle.Queue.CompleteAsync(ofC[0], "silo-1", "c", ItemIdOf(ofC[0]), "{}", CancellationToken.None));
        await _handle.Queue.ReleaseAsync("silo-1", ofC.Skip(1).Select(l => l.Id).ToArray(), CancellationToken.None);

        counts = await _store.GetCountsAsync("c", CancellationToken.None);
        Assert.Equal((1L, 699L, 0L), (counts.Done, counts.Removed, counts.InFlight));
        Assert.Equal(BatchStates.Cancelled, BatchStates.Of(true, counts.Stopped, counts.Total, counts.InFlight, counts.Done, counts.DeadLettered, counts.Removed));
        // The other batch is untouched and is all there is left to lease.
        var rest = await _handle.Queue.LeaseAsync("silo-1", 100, CancellationToken.None);
        Assert.All(rest, l => Assert.Equal("other", Envelope.BatchOf(l.Payload)));
        Assert.Equal(5 - leases.Count(l => Envelope.BatchOf(l.Payload) == "other"), rest.Count);
    }

    [Fact]
    public async Task RetryDead_PutsTheBatchsDeadLettersBackWithFreshAttempts_Once()
    {
        await SubmitAsync("r", 3, BatchPriority.High);
        foreach (var lease in await _handle.Queue.LeaseAsync("silo-1", 3, CancellationToken.None))
        {
            Assert.Equal(FailOutcome.DeadLettered, await _handle.Queue.FailAsync(lease, "silo-1", "HTTP 500", TimeSpan.Zero, CancellationToken.None));
        }

        Assert.Equal(3, (await _store.GetCountsAsync("r", CancellationToken.None)).DeadLettered);

        var retry = await _store.RetryDeadAsync("r", CancellationToken.None);
        var again = await _store.RetryDeadAsync("r", CancellationToken.None);

        Assert.Equal((3L, 0L), retry);
        Assert.Equal((0L, 0L), again);
        Assert.Equal(0, (await _store.GetCountsAsync("r", CancellationToken.None)).DeadLettered);
        Assert.Equal(3, await _handle.Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.High)));
        var leases = await _handle.Queue.LeaseAsync("silo-2", 10, CancellationToken.None);
        Assert.Equal(3, leases.Count);
        Assert.All(leases, l => Assert.Equal((0, true), (l.FailedAttempts, l.GenuineEnvelope)));
        var page = await _store.GetDeadLettersAsync(0, 10, CancellationToken.None);
        Assert.Equal(3, page.Entries.Count);
        Assert.All(page.Entries, e => Assert.NotNull(DeadLetterEntry.Parse(e).RetriedAt));
    }

    [Fact]
    public async Task ExpireDue_ExpiresWhatIsStillQueuedAtTheDeadline_AndLeavesABatchDoneInTime()
    {
        await _store.CreateAsync("late", new BatchDefinition(null, null, CompletionWindow: TimeSpan.FromHours(2)), CancellationToken.None);
        await _store.AddItemsAsync("late", Items("late", 10), CancellationToken.None);
        await _store.SealAsync("late", CancellationToken.None);
        await _store.CreateAsync("quick", new BatchDefinition(null, null, CompletionWindow: TimeSpan.FromHours(1)), CancellationToken.None);
        await _store.AddItemsAsync("quick", Items("quick", 1), CancellationToken.None);
        await _store.SealAsync("quick", CancellationToken.None);
        var quick = (await _handle.Queue.LeaseAsync("silo-1", 10, CancellationToken.None)).Single(l => Envelope.BatchOf(l.Payload) == "quick");
        await _handle.Queue.CompleteAsync(quick, "silo-1", "quick", ItemIdOf(quick), "{}", CancellationToken.None);
        var late = (await _store.GetCountsAsync("late", CancellationToken.None)).InFlight;

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal((0, 0L), await _store.ExpireDueAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromHours(1));
        var (expired, removed) = await _store.ExpireDueAsync(CancellationToken.None);

        Assert.Equal((1, 10 - late), (expired, removed));
        var counts = await _store.GetCountsAsync("late", CancellationToken.None);
        Assert.Equal((BatchStates.Expired, 10 - late), (counts.Stopped, counts.Removed));
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(1), counts.Deadline);
        Assert.Null((await _store.GetCountsAsync("quick", CancellationToken.None)).Stopped);
        Assert.Equal((0, 0L), await _store.ExpireDueAsync(CancellationToken.None));
    }

    /// <summary>
    /// A silo that answers after its lease went back (frozen, or killed mid-write) while another silo holds the item
    /// again: the result is kept once, and the item still counts in its batch until that other lease ends, so the
    /// batch's in-flight count comes back to 0 and the batch can complete.
    /// </summary>
    [Fact]
    public async Task LateAnswerOfAHandedBackLease_WhileAnotherSiloHoldsTheItem_BatchInFlightReturnsToZero()
    {
        await SubmitAsync("late", 1, BatchPriority.Normal);
        var first = (await _handle.Queue.LeaseAsync("silo-a", 1, CancellationToken.None)).Single();
        Assert.Equal(1, await _handle.Queue.ReleaseAsync("silo-a", [first.Id], CancellationToken.None));
        var second = (await _handle.Queue.LeaseAsync("silo-b", 1, CancellationToken.None)).Single();

        Assert.True(await _handle.Queue.CompleteAsync(first, "silo-a", "late", ItemIdOf(first), "{}", CancellationToken.None));
        Assert.Equal(1, (long)await _handle.Db.HashGetAsync(_handle.Keys.BatchInFlight, "late"));
        Assert.False(await _handle.Queue.CompleteAsync(second, "silo-b", "late", ItemIdOf(second), "{}", CancellationToken.None));

        Assert.Equal(0, (long)await _handle.Db.HashGetAsync(_handle.Keys.BatchInFlight, "late"));
        Assert.Equal(0, (long)await _handle.Db.HashGetAsync(_handle.Keys.BatchInFlight, BatchIds.Default));
        Assert.Equal(0, await _handle.Db.SetLengthAsync(_handle.Keys.Envelopes));
        Assert.Equal(1, (long)await _handle.Db.StringGetAsync(_handle.Keys.Duplicates));
    }

    private async Task SubmitAsync(string batchId, int count, BatchPriority priority)
    {
        await _store.CreateAsync(batchId, new BatchDefinition(null, null, Priority: priority), CancellationToken.None);
        Assert.Equal(count, await _store.AddItemsAsync(batchId, Items(batchId, count), CancellationToken.None));
        await _store.SealAsync(batchId, CancellationToken.None);
    }

    private static BatchItem[] Items(string batchId, int count) =>
        Enumerable.Range(0, count).Select(i => new BatchItem($"{batchId}-{i}", "{\"city\":\"Oslo\"}")).ToArray();

    private static string ItemIdOf(Lease lease)
    {
        Assert.Null(QueueItem.TryParse(lease.Payload, int.MaxValue, out var item));
        using (item)
        {
            return item!.Id;
        }
    }
}
