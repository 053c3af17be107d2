using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Queue;

/// <summary>Cancel, retry, the deadline and late answers in the batch store's scripts, against a real Redis; time from a fake clock.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class BatchLifecycleTests(RedisServer redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = FakeClock.Now();
    private QueueHandle _handle = null!;

    private RedisBatchStore Store => _handle.Batches;

    private RedisLeaseQueue Queue => _handle.Queue;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), MaxAttempts = 1 }, _time);

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task Stop_RemovesTheQueuedItemsAtOnce_InFlightOnesFinish_AndEveryItemIsCounted()
    {
        await SubmitAsync("c", 700, BatchPriority.Normal); // more than one ZSCAN page
        await SubmitAsync("other", 5, BatchPriority.Normal);
        var leases = await Queue.TakeAsync("silo-1", 4);

        var (stopped, removed) = await Store.StopAsync("c", BatchStates.Cancelled, CancellationToken.None);

        Assert.Equal(BatchStates.Cancelled, stopped);
        var ofC = leases.Where(l => l.BatchOf() == "c").ToArray();
        Assert.Equal(700 - ofC.Length, removed);
        var counts = await Store.GetCountsAsync("c", CancellationToken.None);
        Assert.Equal((BatchStates.Cancelled, 700L - ofC.Length, (long)ofC.Length, BatchStates.Cancelling), (counts.Stopped, counts.Removed, counts.InFlight, counts.Status));

        // In flight: a result is kept; one handed back is removed, not queued again.
        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(ofC[0], "silo-1"));
        await Queue.ReleaseAsync("silo-1", ofC.Skip(1).Select(l => l.Id).ToArray(), CancellationToken.None);

        counts = await Store.GetCountsAsync("c", CancellationToken.None);
        Assert.Equal((1L, 699L, 0L, BatchStates.Cancelled), (counts.Done, counts.Removed, counts.InFlight, counts.Status));
        Assert.NotNull(counts.Ended);
        // The other batch is untouched and is all there is left to lease.
        var rest = await Queue.TakeAsync("silo-1", 100);
        Assert.All(rest, l => Assert.Equal("other", l.BatchOf()));
        Assert.Equal(5 - leases.Count(l => l.BatchOf() == "other"), rest.Count);
    }

    [Fact]
    public async Task RetryDead_PutsTheBatchsDeadLettersBackWithFreshAttempts_Once()
    {
        await SubmitAsync("r", 3, BatchPriority.High);
        foreach (var lease in await Queue.TakeAsync("silo-1", 3))
        {
            Assert.Equal(FailOutcome.DeadLettered, await Queue.FailAsync(lease, "silo-1"));
        }

        var dead = await Store.GetCountsAsync("r", CancellationToken.None);
        Assert.Equal((3L, BatchStates.Completed), (dead.DeadLettered, dead.Status));

        var retry = await _handle.Items.RetryDeadAsync("r", CancellationToken.None);
        var again = await _handle.Items.RetryDeadAsync("r", CancellationToken.None);

        Assert.Equal((3L, 0L), retry);
        Assert.Equal((0L, 0L), again);
        var counts = await Store.GetCountsAsync("r", CancellationToken.None);
        Assert.Equal((0L, BatchStates.InProgress, null), (counts.DeadLettered, counts.Status, counts.Ended));
        Assert.Equal(3, await _handle.Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.High)));
        var leases = await Queue.TakeAsync("silo-2", 10);
        Assert.Equal(3, leases.Count);
        Assert.All(leases, l => Assert.Equal((0, true), (l.FailedAttempts, l.GenuineEnvelope)));
        var page = await _handle.Items.GetDeadLettersAsync("r", null, 10, CancellationToken.None);
        Assert.Equal(3, page.Entries.Count);
        Assert.All(page.Entries, e => Assert.NotNull(DeadLetterEntry.Parse(e).RetriedAt));
    }

    [Fact]
    public async Task ExpireDue_ExpiresWhatIsStillQueuedAtTheDeadline_AndLeavesABatchDoneInTime()
    {
        await Store.CreateAsync("late", new BatchSpec(null, null, CompletionWindow: TimeSpan.FromHours(2)), CancellationToken.None);
        await _handle.Items.EnqueueAsync("late", Items("late", 10), CancellationToken.None);
        await Store.SealAsync("late", CancellationToken.None);
        await Store.CreateAsync("quick", new BatchSpec(null, null, CompletionWindow: TimeSpan.FromHours(1)), CancellationToken.None);
        await _handle.Items.EnqueueAsync("quick", Items("quick", 1), CancellationToken.None);
        await Store.SealAsync("quick", CancellationToken.None);
        var quick = (await Queue.TakeAsync("silo-1", 10)).Single(l => l.BatchOf() == "quick");
        await Queue.CompleteAsync(quick, "silo-1");
        var late = (await Store.GetCountsAsync("late", CancellationToken.None)).InFlight;

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal((0, 0L), await Store.ExpireDueAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromHours(1));
        var (expired, removed) = await Store.ExpireDueAsync(CancellationToken.None);

        Assert.Equal((1, 10 - late), (expired, removed));
        var counts = await Store.GetCountsAsync("late", CancellationToken.None);
        Assert.Equal((BatchStates.Expired, 10 - late), (counts.Stopped, counts.Removed));
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(1), counts.Deadline);
        Assert.Null((await Store.GetCountsAsync("quick", CancellationToken.None)).Stopped);
        Assert.Equal((0, 0L), await Store.ExpireDueAsync(CancellationToken.None));
    }

    /// <summary>
    /// A silo that answers after its lease went back (frozen, or killed mid-write) while another silo holds the item
    /// again: the answer is kept, the other lease is fenced off, and its answer is dropped as late. One result, and the
    /// batch's in-flight count comes back to 0, so the batch completes.
    /// </summary>
    [Fact]
    public async Task LateAnswerOfAHandedBackLease_WhileAnotherSiloHoldsTheItem_IsKept_AndFencesTheOtherLease()
    {
        await SubmitAsync("late", 1, BatchPriority.Normal);
        var first = (await Queue.TakeAsync("silo-a", 1)).Single();
        Assert.Equal(1, await Queue.ReleaseAsync("silo-a", [first.Id], CancellationToken.None));
        var second = (await Queue.TakeAsync("silo-b", 1)).Single();

        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(first, "silo-a", "{\"by\":\"a\"}"));
        Assert.Equal(0, await Queue.RenewAsync("silo-b", [second.Id], CancellationToken.None));
        Assert.Equal(CompleteOutcome.Late, await Queue.CompleteAsync(second, "silo-b", "{\"by\":\"b\"}"));

        var counts = await Store.GetCountsAsync("late", CancellationToken.None);
        Assert.Equal((1L, 0L, 1L, BatchStates.Completed), (counts.Done, counts.InFlight, counts.Late, counts.Status));
        Assert.Equal(["{\"by\":\"a\"}"], (await Store.GetResultsAsync("late", null, 10, CancellationToken.None)).Documents);
        Assert.Equal(0, await _handle.Db.HashLengthAsync(_handle.Keys.InFlight));
    }

    [Fact]
    public async Task CompleteMany_OfABatchsLastItems_EndsTheBatch_WithItsResultsInSubmissionOrder()
    {
        await SubmitAsync("g", 3, BatchPriority.Normal);
        var leases = await Queue.TakeAsync("silo-1", 3);

        var outcomes = await Queue.CompleteManyAsync(
            [.. leases.Reverse().Select(l => new CompleteRequest(l, "silo-1", QueueTestExtensions.ItemIdOf(l), $"{{\"id\":\"{QueueTestExtensions.ItemIdOf(l)}\"}}", TokenUsage.Zero))],
            CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(CompleteOutcome.Stored, o));
        var counts = await Store.GetCountsAsync("g", CancellationToken.None);
        Assert.Equal((3L, 0L, BatchStates.Completed), (counts.Done, counts.InFlight, counts.Status));
        Assert.NotNull(counts.Ended);
        var page = await Store.GetResultsAsync("g", null, 10, CancellationToken.None);
        Assert.Equal(["{\"id\":\"g-0\"}", "{\"id\":\"g-1\"}", "{\"id\":\"g-2\"}"], page.Documents);
    }

    private async Task SubmitAsync(string batchId, int count, BatchPriority priority)
    {
        await Store.CreateAsync(batchId, new BatchSpec(null, null, Priority: priority), CancellationToken.None);
        Assert.Equal(count, await _handle.Items.EnqueueAsync(batchId, Items(batchId, count), CancellationToken.None));
        await Store.SealAsync(batchId, CancellationToken.None);
    }

    private static BatchItem[] Items(string batchId, int count) =>
        Enumerable.Range(0, count).Select(i => new BatchItem($"{batchId}-{i}", "{\"city\":\"Oslo\"}")).ToArray();
}
