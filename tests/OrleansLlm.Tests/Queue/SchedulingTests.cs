using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The order leases come in: priority classes, batches taking turns, raw items, items handed back. Real Redis.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class SchedulingTests(RedisServer redis) : IAsyncLifetime
{
    private QueueHandle _handle = null!;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName() });

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task Lease_TakesTheHighestClassFirst_WhateverWasSubmittedBefore()
    {
        await SubmitAsync("low", BatchPriority.Low, 3);
        await SubmitAsync("normal", BatchPriority.Normal, 3);
        await _handle.Db.ListRightPushAsync(_handle.Keys.Ready, "{\"id\":\"raw-1\"}");
        await SubmitAsync("high", BatchPriority.High, 2);

        var order = await LeaseAllAsync();

        Assert.Equal(["high", "high"], order[..2]);
        Assert.Equal(["low", "low", "low"], order[^3..]);
        Assert.Equal(4, order[2..^3].Length); // the normal batch and the raw item, in turns
    }

    [Fact]
    public async Task Lease_LetsBatchesOfAClassTakeTurns_SoASmallOneBehindALargeOneFinishesEarly()
    {
        await SubmitAsync("large", BatchPriority.Normal, 100);
        var first = await LeaseBatchesAsync(10); // the large batch is under way
        await SubmitAsync("small", BatchPriority.Normal, 5);

        var rest = await LeaseAllAsync();

        Assert.All(first, b => Assert.Equal("large", b));
        // Alternating from the small batch's submission: its 5 items are done within the next 10 leases.
        Assert.Equal(5, rest.Take(10).Count(b => b == "small"));
        Assert.Equal(90, rest.Count(b => b == "large"));
    }

    [Fact]
    public async Task Lease_GivesRawItemsTheirTurnInTheNormalClass_InTheirOrder()
    {
        await SubmitAsync("batch", BatchPriority.Normal, 4);
        await _handle.Db.ListRightPushAsync(_handle.Keys.Ready, ["{\"id\":\"r1\"}", "{\"id\":\"r2\"}", "{\"id\":\"r3\"}"]);

        var leases = await _handle.Queue.TakeAsync("silo-1", 10);

        Assert.Equal(7, leases.Count);
        Assert.Equal(["r1", "r2", "r3"], leases.Where(l => !Envelope.IsEnveloped(l.Payload)).Select(l => l.Payload[7..9]));
        // Turns: no two raw items in a row while the batch has items.
        var raw = leases.Select(l => !Envelope.IsEnveloped(l.Payload)).ToArray();
        Assert.DoesNotContain(Enumerable.Range(1, raw.Length - 1), i => raw[i] && raw[i - 1]);
    }

    [Fact]
    public async Task Release_PutsABatchsItemsBackAtTheHeadOfItsClass_InTheirOrder()
    {
        await SubmitAsync("a", BatchPriority.Normal, 3);
        var leases = await _handle.Queue.TakeAsync("silo-1", 2);
        await SubmitAsync("b", BatchPriority.Normal, 3);

        Assert.Equal(2, await _handle.Queue.ReleaseAsync("silo-1", leases.Select(l => l.Id).ToArray(), CancellationToken.None));
        var again = await _handle.Queue.TakeAsync("silo-2", 2);

        Assert.Equal(leases.Select(l => l.Payload), again.Select(l => l.Payload));
        Assert.Equal(0, await _handle.Db.ListLengthAsync(_handle.Keys.Ready));
    }

    [Fact]
    public async Task ReadyItems_AreCountedInEveryClassSet_WhichKedaReads()
    {
        await SubmitAsync("h", BatchPriority.High, 2);
        await SubmitAsync("n", BatchPriority.Normal, 3);
        await SubmitAsync("l", BatchPriority.Low, 4);
        await _handle.Db.ListRightPushAsync(_handle.Keys.Ready, "{\"id\":\"raw\"}");

        var counts = await _handle.Items.GetCountsAsync(10, CancellationToken.None);

        Assert.Equal(10, counts.Ready);
        Assert.Equal(2, await _handle.Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.High)));
        Assert.Equal(4, await _handle.Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.Low)));
        Assert.Equal(
            [_handle.Keys.Ready, $"{_handle.Keys.Name}:ready:high", $"{_handle.Keys.Name}:ready:normal", $"{_handle.Keys.Name}:ready:low", _handle.Keys.InFlight],
            _handle.Keys.Outstanding);
    }

    [Fact]
    public async Task Lease_WithModels_LeavesItemsOfAnotherSilosModel_ParksThoseOfNoSilos_AndUnparksWhenOneServesThem()
    {
        await SubmitAsync("a", BatchPriority.Normal, 2, model: "model-a:1b");
        await SubmitAsync("b", BatchPriority.Normal, 2, model: "model-b:1b");
        await SubmitAsync("plain", BatchPriority.Normal, 2);

        // Silo A serves model a: it takes a's items and the plain batch's, and parks b's, which nobody serves yet.
        var first = await _handle.Queue.TakeAsync("silo-a", 10, "model-a:1b");
        Assert.Equal(["a", "a", "plain", "plain"], first.Select(l => Envelope.BatchOf(l.Payload)).Order());
        Assert.Equal(2, await _handle.Db.SortedSetLengthAsync(_handle.Keys.Parked("model-b:1b")));
        Assert.Equal("model-b:1b", (await _handle.Batches.GetCountsAsync("b", CancellationToken.None)).WaitingForModel);

        // Silo B comes, serving model b: the parked items are back, and it leases them.
        var second = await _handle.Queue.TakeAsync("silo-b", 10, "model-b:1b");
        Assert.Equal(["b", "b"], second.Select(l => Envelope.BatchOf(l.Payload)));
        Assert.Equal(0, await _handle.Db.SortedSetLengthAsync(_handle.Keys.Parked("model-b:1b")));
        Assert.Null((await _handle.Batches.GetCountsAsync("b", CancellationToken.None)).WaitingForModel);

        // Now that silo B serves model b, silo A leaves b's items to it instead of parking them.
        await SubmitAsync("b2", BatchPriority.Normal, 1, model: "model-b:1b");
        Assert.Empty(await _handle.Queue.TakeAsync("silo-a", 10, "model-a:1b"));
        Assert.Equal(1, await _handle.Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.Normal)));
    }

    [Fact]
    public async Task Cancel_RemovesParkedItemsToo()
    {
        await SubmitAsync("nobody", BatchPriority.Low, 3, model: "model-z:1b");
        Assert.Empty(await _handle.Queue.TakeAsync("silo-a", 10, "model-a:1b"));
        Assert.Equal(3, await _handle.Db.SortedSetLengthAsync(_handle.Keys.Parked("model-z:1b")));

        var (_, removed) = await _handle.Batches.StopAsync("nobody", BatchStates.Cancelled, CancellationToken.None);

        Assert.Equal(3, removed);
        Assert.Equal(0, await _handle.Db.SortedSetLengthAsync(_handle.Keys.Parked("model-z:1b")));
        Assert.Equal(BatchStates.Cancelled, (await _handle.Batches.GetCountsAsync("nobody", CancellationToken.None)).Status);
    }

    private async Task SubmitAsync(string batchId, BatchPriority priority, int count, string? model = null)
    {
        await _handle.Batches.CreateAsync(batchId, new BatchSpec(null, null, Model: model, Priority: priority), CancellationToken.None);
        var items = Enumerable.Range(0, count).Select(i => new BatchItem($"{batchId}-{i}", "{\"city\":\"Oslo\"}")).ToArray();
        Assert.Equal(count, await _handle.Items.EnqueueAsync(batchId, items, CancellationToken.None));
    }

    private async Task<string[]> LeaseBatchesAsync(int max) =>
        (await _handle.Queue.TakeAsync("silo-1", max)).Select(l => Envelope.BatchOf(l.Payload)).ToArray();

    // One lease at a time, as a silo with one slot takes them.
    private async Task<string[]> LeaseAllAsync()
    {
        var order = new List<string>();
        while (await LeaseBatchesAsync(1) is [var batch])
        {
            order.Add(batch);
        }

        return [.. order];
    }
}
