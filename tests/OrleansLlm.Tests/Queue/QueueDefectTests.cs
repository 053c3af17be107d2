using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>
/// The ways the queue's scripts miscounted, lost or stalled, each reproduced as issue 20 found it by calling the
/// scripts directly against a real redis-server; time is a fake clock the scripts read.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class QueueDefectTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = FakeClock.Now();
    private QueueHandle _handle = null!;

    private RedisLeaseQueue Queue => _handle.Queue;

    private RedisBatchStore Store => _handle.Batches;

    private IDatabase Db => _handle.Db;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(
            redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), MaxAttempts = 2, LeaseDuration = LeaseDuration }, _time);

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    /// <summary>
    /// Defect 1. A frozen silo's answer came after Sweep had dead-lettered its item on the last attempt: Complete still
    /// wrote the result, so done + dead-lettered reached the total and the batch said completed with an item still queued.
    /// </summary>
    [Fact]
    public async Task LateAnswer_OfAnItemDeadLetteredMeanwhile_IsDropped_AndTheBatchIsNotCompletedEarly()
    {
        await SubmitAsync("b", 2);
        var first = (await Queue.TakeAsync("silo-a", 1)).Single();
        Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(first, "silo-a"));
        var again = (await Queue.TakeAsync("silo-a", 1)).Single();
        Assert.Equal(first.Payload, again.Payload);

        // Silo A freezes; its lease expires and the sweep spends the item's last attempt.
        _time.Advance(LeaseDuration + TimeSpan.FromMilliseconds(1));
        Assert.Equal((0, 1), await Queue.RequeueExpiredAsync(CancellationToken.None));
        Assert.Equal(CompleteOutcome.Late, await Queue.CompleteAsync(again, "silo-a"));

        var counts = await Store.GetCountsAsync("b", CancellationToken.None);
        Assert.Equal((0L, 1L, 1L, BatchStates.InProgress), (counts.Done, counts.DeadLettered, counts.Late, counts.Status));
        Assert.Empty((await Store.GetResultsAsync("b", null, 10, CancellationToken.None)).Documents);

        // The second item is still there, and the batch completes only with it.
        var second = (await Queue.TakeAsync("silo-b", 1)).Single();
        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(second, "silo-b"));
        counts = await Store.GetCountsAsync("b", CancellationToken.None);
        Assert.Equal((1L, 1L, BatchStates.Completed), (counts.Done, counts.DeadLettered, counts.Status));
    }

    /// <summary>
    /// Defect 3. Lease took the first max due retries and skipped those of a model it does not serve; they stayed at
    /// the head of the retries, so a silo with max free slots took no retry at all, and nothing ever parked them.
    /// </summary>
    [Fact]
    public async Task RetriesOfAModelNoSiloServes_AreParked_AndNeverBlockTheRetriesBehindThem()
    {
        await SubmitAsync("gone", 2, BatchPriority.High, model: "gone-model:1b");
        await SubmitAsync("plain", 1);
        // A silo that served the model took both items and failed them, then went away.
        foreach (var lease in await Queue.TakeAsync("silo-m", 2, "gone-model:1b"))
        {
            Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(lease, "silo-m"));
        }

        var plain = (await Queue.TakeAsync("silo-p", 1, "own:1b")).Single();
        Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(plain, "silo-p"));

        // While silo-m still serves the model, its retries are left to it, and silo-p's one free slot takes its own retry.
        var own = Assert.Single(await Queue.TakeAsync("silo-p", 1, "own:1b"));
        Assert.Equal(plain.Payload, own.Payload);
        Assert.Equal(1, await Queue.ReleaseAsync("silo-p", [own.Id], CancellationToken.None));

        // Once no silo has served it for a while, the model's retries are parked.
        _time.Advance(RedisLeaseQueue.ServedModelsHold + TimeSpan.FromSeconds(1));
        var leased = await Queue.TakeAsync("silo-p", 1, "own:1b");

        Assert.Equal("plain", Assert.Single(leased).BatchOf());
        Assert.Equal(2, await Db.SortedSetLengthAsync(_handle.Keys.Parked("gone-model:1b")));
        Assert.Equal(0, await Db.SortedSetLengthAsync(_handle.Keys.Retries));
        var gone = await Store.GetCountsAsync("gone", CancellationToken.None);
        Assert.Equal((0L, 2L, "gone-model:1b"), (gone.InFlight, gone.Parked, gone.WaitingForModel));

        // Parked, a cancel reaches them, and the batch is cancelled rather than cancelling for ever.
        Assert.Equal(2, (await Store.StopAsync("gone", BatchStates.Cancelled, CancellationToken.None)).Removed);
        Assert.Equal(BatchStates.Cancelled, (await Store.GetCountsAsync("gone", CancellationToken.None)).Status);
        Assert.Equal([leased[0].Id], (await Db.HashKeysAsync(_handle.Keys.InFlight)).Select(k => (string)k!));
    }

    /// <summary>
    /// Defect 4. Script calls did work that grew with the queue: one Lease parked every unservable item of a class, and
    /// after a cancel the next Lease removed the whole batch. Each now stops at its bound of steps and says so.
    /// </summary>
    [Fact]
    public async Task Lease_ParksAndRemoves_AtMostABoundedNumberPerCall_AndSaysThereIsMore()
    {
        await SubmitAsync("nobody", 1000, model: "nobody:1b");

        var first = await Queue.LeaseAsync("silo-1", 4, ["own:1b"], CancellationToken.None);

        Assert.Empty(first.Leases);
        Assert.True(first.More);
        var parked = await Db.SortedSetLengthAsync(_handle.Keys.Parked("nobody:1b"));
        Assert.InRange(parked, 1, 128);
        // The caller goes on until all are parked, a bounded step each time.
        var calls = 1;
        while ((await Queue.LeaseAsync("silo-1", 4, ["own:1b"], CancellationToken.None)).More)
        {
            calls++;
        }

        Assert.Equal(1000, await Db.SortedSetLengthAsync(_handle.Keys.Parked("nobody:1b")));
        Assert.InRange(calls, 1000 / 128, 1000 / 64);

        // A silo that serves the model takes them back a page per call.
        var back = await Queue.LeaseAsync("silo-2", 1, ["nobody:1b"], CancellationToken.None);
        Assert.Single(back.Leases);
        Assert.InRange(await Db.SortedSetLengthAsync(_handle.Keys.Parked("nobody:1b")), 1000 - 64, 999);

        // A batch stopped between StopBatch and RemoveQueued's pages: the lease path removes a bounded number of it per call.
        await SubmitAsync("stopped", 1000, BatchPriority.Low);
        await Db.HashSetAsync(_handle.Keys.Batch("stopped"), "stopped", BatchStates.Cancelled);
        await Store.StopAsync("nobody", BatchStates.Cancelled, CancellationToken.None);
        var removing = await Queue.LeaseAsync("silo-1", 4, null, CancellationToken.None);
        Assert.Empty(removing.Leases);
        Assert.True(removing.More);
        Assert.InRange((await Store.GetCountsAsync("stopped", CancellationToken.None)).Removed, 1, 128);
    }

    [Fact]
    public async Task Lease_ThatOnlyLookedPastAnotherSilosItems_SaysThereIsNoMore_SoTheWorkerDoesNotSpin()
    {
        await SubmitAsync("theirs", 600, model: "theirs:1b");
        Assert.Single(await Queue.TakeAsync("silo-t", 1, "theirs:1b"));

        var mine = await Queue.LeaseAsync("silo-1", 4, ["own:1b"], CancellationToken.None);

        Assert.Empty(mine.Leases);
        Assert.False(mine.More);
        Assert.Equal(599, await Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.Normal)));
    }

    /// <summary>
    /// Defect 4, the last part. A late answer to a batch's item ran LREM over the whole raw list, where a batch's item
    /// never is; and a late answer sent twice counted its usage twice.
    /// </summary>
    [Fact]
    public async Task LateAnswer_OfABatchItem_NeverWalksTheRawList_AndCountsItsUsageOnce()
    {
        await Db.ListRightPushAsync(_handle.Keys.Ready, Enumerable.Range(0, 2000).Select(i => (RedisValue)$"{{\"id\":\"raw-{i}\"}}").ToArray());
        await SubmitAsync("b", 1, BatchPriority.High);
        var lease = (await Queue.TakeAsync("silo-a", 1)).Single();
        _time.Advance(LeaseDuration + TimeSpan.FromMilliseconds(1));
        await Queue.RequeueExpiredAsync(CancellationToken.None);
        var lrem = await CommandCallsAsync("lrem");

        var usage = new TokenUsage(40, 4, TimeSpan.FromMilliseconds(500));
        var id = QueueTestExtensions.ItemIdOf(lease);
        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(lease, "silo-a", id, "{}", usage, CancellationToken.None));
        // The same answer sent again (its reply was lost in a timeout): the first outcome, and nothing counted twice.
        Assert.Equal(CompleteOutcome.Stored, await Queue.CompleteAsync(lease, "silo-a", id, "{}", usage, CancellationToken.None));

        Assert.Equal(lrem, await CommandCallsAsync("lrem"));
        Assert.Equal(usage, await Store.GetUsageAsync("b", CancellationToken.None));
        Assert.Equal((1L, BatchStates.Completed), ((await Store.GetCountsAsync("b", CancellationToken.None)).Done, (await Store.GetCountsAsync("b", CancellationToken.None)).Status));
    }

    /// <summary>
    /// Defect 5. A retry kept its lease id, so a Fail sent again after a timeout, once the same silo had leased the item
    /// again, spent a second attempt, moved the running item back to the retries and unhooked the live lease.
    /// </summary>
    [Fact]
    public async Task FailSentAgain_AfterTheSameSiloLeasedTheItemAgain_ReturnsTheFirstOutcome_SpendsNothing_AndLeavesTheNewLeaseAlone()
    {
        await SubmitAsync("b", 1);
        var first = (await Queue.TakeAsync("silo-a", 1)).Single();
        Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(first, "silo-a"));
        var second = (await Queue.TakeAsync("silo-a", 1)).Single();
        Assert.NotEqual(first.Id, second.Id);

        Assert.Equal(FailOutcome.Retrying, await Queue.FailAsync(first, "silo-a"));

        Assert.Equal("silo-a", (string?)await Db.HashGetAsync(_handle.Keys.Owners, second.Id));
        Assert.Equal(0, await Db.SortedSetLengthAsync(_handle.Keys.Retries));
        Assert.Equal(1, await Queue.RenewAsync("silo-a", [second.Id], CancellationToken.None));
        var number = Observed.NumberOf(second.Payload);
        Assert.Equal($"l|1|{second.Id}|silo-a", (string?)await Db.HashGetAsync(_handle.Keys.BatchState("b"), number));
        // Its next failure is its second, the last: dead-lettered with 2 attempts, not 3.
        Assert.Equal(FailOutcome.DeadLettered, await Queue.FailAsync(second, "silo-a"));
        Assert.Equal(2, Assert.Single(await _handle.DeadLettersAsync()).GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task StaleSettles_ChangeNothing_AndSaySo()
    {
        await SubmitAsync("b", 1);
        var lease = (await Queue.TakeAsync("silo-a", 1)).Single();
        _time.Advance(LeaseDuration + TimeSpan.FromMilliseconds(1));
        await Queue.RequeueExpiredAsync(CancellationToken.None);
        var state = await Db.HashGetAsync(_handle.Keys.BatchState("b"), Observed.NumberOf(lease.Payload));

        Assert.Equal(FailOutcome.LeaseLost, await Queue.FailAsync(lease, "silo-a"));
        Assert.Equal(FailOutcome.LeaseLost, await Queue.ReportBackendFaultAsync(lease, "silo-a", "unreachable", TimeSpan.Zero, CancellationToken.None));
        Assert.False(await Queue.DeadLetterAsync(lease, "silo-a", "malformed", TokenUsage.Zero, CancellationToken.None));
        Assert.Equal(0, await Queue.ReleaseAsync("silo-a", [lease.Id], CancellationToken.None));

        Assert.Equal(state, await Db.HashGetAsync(_handle.Keys.BatchState("b"), Observed.NumberOf(lease.Payload)));
        var counts = await Store.GetCountsAsync("b", CancellationToken.None);
        Assert.Equal((0L, 0L, 0L, 1L), (counts.InFlight, counts.DeadLettered, counts.Done, counts.Total - counts.Removed));
    }

    private async Task SubmitAsync(string batchId, int count, BatchPriority priority = BatchPriority.Normal, string? model = null)
    {
        await Store.CreateAsync(batchId, new BatchSpec(null, null, Model: model, Priority: priority), CancellationToken.None);
        var items = Enumerable.Range(0, count).Select(i => new BatchItem($"{batchId}-{i}", "{\"city\":\"Oslo\"}")).ToArray();
        Assert.Equal(count, await _handle.Items.EnqueueAsync(batchId, items, CancellationToken.None));
        await Store.SealAsync(batchId, CancellationToken.None);
    }

    private async Task<long> CommandCallsAsync(string command)
    {
        // INFO is an admin command for clients; any script may read it.
        var info = await _handle.Db.ScriptEvaluateAsync("return redis.call('INFO', 'commandstats')");
        var line = ((string)info!).Split('\n').FirstOrDefault(l => l.StartsWith($"cmdstat_{command}:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
