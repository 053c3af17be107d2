using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Worker;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The worker's group commit of answers against a real Redis: whatever group an answer falls in, its caller gets its own outcome.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class CompleteBatcherTests(RedisServer redis) : IAsyncLifetime
{
    private QueueHandle _handle = null!;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName() }, FakeClock.Now());

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task AnswersSentTogether_EachGetTheirOwnOutcome()
    {
        var items = Enumerable.Range(0, 40).Select(i => (RedisValue)$"{{\"id\":\"i{i}\"}}").Append("{\"id\":\"i0\",\"v\":2}").ToArray();
        await _handle.Db.ListRightPushAsync(_handle.Keys.Ready, items);
        var leases = new List<Lease>();
        while (leases.Count < items.Length)
        {
            leases.AddRange(await _handle.Queue.TakeAsync("silo-1", 16));
        }

        var batcher = new CompleteBatcher(_handle.Queue.CompleteManyAsync, TimeProvider.System);
        CompleteRequest Answer(Lease lease) => new(lease, "silo-1", QueueTestExtensions.ItemIdOf(lease), "{}", TokenUsage.Zero);

        // The first 40 at once, however they fall into groups; then i0's second item (a conflict) and i1 again.
        var outcomes = await Task.WhenAll(leases.Take(40).Select(l => batcher.CompleteAsync(Answer(l), CancellationToken.None)));
        var conflict = await batcher.CompleteAsync(Answer(leases[40]), CancellationToken.None);
        var again = await batcher.CompleteAsync(Answer(leases[1]), CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(CompleteOutcome.Stored, o));
        Assert.Equal((CompleteOutcome.Conflict, CompleteOutcome.Stored), (conflict, again));
        Assert.Equal(40L, (long?)await _handle.Db.HashGetAsync(_handle.Keys.Batch(BatchIds.Default), "done"));
        Assert.Equal(1, await _handle.Db.HashLengthAsync(_handle.Keys.InFlight));
    }
}
