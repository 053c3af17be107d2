using System.Diagnostics;
using System.Text.Json;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Queue;

/// <summary>A queue split into three partitions (<c>Queue:Shards</c> 3) against a real Redis, as the silos use it, without them.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class QueueShardsTests(RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Owner = "silo-1";
    private ShardedQueueHandle _q = null!;

    public async Task InitializeAsync() =>
        _q = await ShardedQueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName(), Shards = 3, MaxAttempts = 2 });

    public async Task DisposeAsync() => await _q.DisposeAsync();

    [Fact]
    public async Task Batch_SpreadsOverEveryPartition_EndsWithEveryItemOnce_ResultsInSubmissionOrder()
    {
        var clock = Stopwatch.StartNew();
        await CreateAsync("a");
        await CreateAsync("b");
        // Two batches submitted at once, chunk by chunk, so their runs interleave in every partition's item sequence.
        var added = await Task.WhenAll(AddChunksAsync("a", 100, 25), AddChunksAsync("b", 60, 7));
        Assert.Equal([100, 60], added);
        // Ids a batch has already, in whichever partition, are skipped, also twice in one chunk.
        Assert.Equal(1, await _q.Items.EnqueueAsync("a", [Item("a", 3), Item("a", 99), Item("a", 100), Item("a", 100)], CancellationToken.None));
        await _q.Batches.SealAsync("a", CancellationToken.None);
        await _q.Batches.SealAsync("b", CancellationToken.None);

        var perPartition = await Task.WhenAll(_q.Shards.Keys.Select(k => _q.Db.HashLengthAsync(k.BatchItems("a"))));
        output.WriteLine($"batch a per partition: {string.Join(", ", perPartition)}");
        Assert.All(perPartition, n => Assert.InRange(n, 25, 40));

        var (answered, last) = await AnswerAllButOneAsync();
        // Its batch is not completed while one part still has an item in flight.
        Assert.Equal(BatchStates.InProgress, (await _q.Batches.GetCountsAsync(last.BatchOf(), CancellationToken.None)).Status);
        Assert.Equal(CompleteOutcome.Stored, await _q.CompleteAsync(last, Owner));
        var ids = answered.Append(QueueTestExtensions.ItemIdOf(last)).ToArray();
        Assert.Equal(161, ids.Length);
        Assert.Equal(ids.Length, ids.Distinct().Count());

        var a = await _q.Batches.GetCountsAsync("a", CancellationToken.None);
        Assert.Equal((101L, 101L, 0L, BatchStates.Completed), (a.Total, a.Done, a.InFlight, a.Status));
        Assert.NotNull(a.Ended);
        Assert.Equal(Enumerable.Range(0, 101).Select(i => $"a-{i}"), await ReadResultsAsync("a", pageSize: 7));
        Assert.Equal(Enumerable.Range(0, 60).Select(i => $"b-{i}"), await ReadResultsAsync("b", pageSize: 1000));
        output.WriteLine($"161 items through 3 partitions in {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Lease_FallsBackToTheOtherPartitions_WhenItsTurnFindsNothing_SettlesGoToTheLeasesOwn()
    {
        var partitions = new HashSet<int>();
        for (var i = 0; i < 6; i++)
        {
            // One item: it lands in one partition, and a lease call whose turn starts at another still finds it.
            await CreateAsync($"one-{i}");
            await _q.Items.EnqueueAsync($"one-{i}", [Item($"one-{i}", 0)], CancellationToken.None);
            var lease = Assert.Single(await _q.TakeAsync(Owner, 1));
            Assert.Equal($"one-{i}-0", QueueTestExtensions.ItemIdOf(lease));
            partitions.Add(_q.Shards.ParseLeaseId(lease.Id).Shard);
            Assert.Equal(1, await _q.Queue.RenewAsync(Owner, [lease.Id], CancellationToken.None));
            Assert.Equal(CompleteOutcome.Stored, await _q.CompleteAsync(lease, Owner));
        }

        Assert.True(partitions.Count > 1, $"every item landed in partition {string.Join(", ", partitions)}");

        // Renewals and hand-backs of leases in several partitions at once.
        await CreateAsync("many");
        await _q.Items.EnqueueAsync("many", [.. Enumerable.Range(0, 9).Select(i => Item("many", i))], CancellationToken.None);
        var leases = await _q.TakeAsync(Owner, 20);
        Assert.Equal(9, leases.Count);
        Assert.Equal(3, leases.Select(l => _q.Shards.ParseLeaseId(l.Id).Shard).Distinct().Count());
        Assert.Equal(9, await _q.Queue.RenewAsync(Owner, [.. leases.Select(l => l.Id)], CancellationToken.None));
        // What a worker compares with the leases it knows of: the ids it holds them by, over every partition.
        Assert.Equal(leases.Select(l => l.Id).Order(), (await _q.Queue.LeasesOfAsync(Owner, CancellationToken.None)).Order());
        Assert.Empty(await _q.Queue.LeasesOfAsync("silo-2", CancellationToken.None));
        Assert.Equal(9, await _q.Queue.ReleaseAsync(Owner, [.. leases.Select(l => l.Id)], CancellationToken.None));
        Assert.Equal(9, (await _q.TakeAsync("silo-2", 20)).Count);
        Assert.Equal(new Dictionary<string, long> { ["silo-2"] = 9 }, await _q.Queue.LeasesByOwnerAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AnswersCompletedTogether_GoToTheirLeasesPartitions_EachWithItsOwnOutcome()
    {
        await CreateAsync("g");
        Assert.Equal(30, await AddChunksAsync("g", 30, 5));
        await _q.Batches.SealAsync("g", CancellationToken.None);
        var leases = await _q.TakeAsync(Owner, 30);
        Assert.Equal(3, leases.Select(l => _q.Shards.ParseLeaseId(l.Id).Shard).Distinct().Count());
        CompleteRequest Answer(Lease lease, string owner) =>
            new(lease, owner, QueueTestExtensions.ItemIdOf(lease), $$"""{"id":"{{QueueTestExtensions.ItemIdOf(lease)}}"}""", TokenUsage.Zero);

        // The partitions' answers interleaved in one group; then some of them again, as after a lost reply.
        var outcomes = await _q.Queue.CompleteManyAsync([.. leases.Select(l => Answer(l, Owner))], CancellationToken.None);
        var again = await _q.Queue.CompleteManyAsync([.. leases.Where((_, i) => i % 4 == 0).Select(l => Answer(l, Owner))], CancellationToken.None);

        Assert.Equal(30, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(CompleteOutcome.Stored, o));
        Assert.Equal(8, again.Count);
        Assert.All(again, o => Assert.Equal(CompleteOutcome.Stored, o));
        var counts = await _q.Batches.GetCountsAsync("g", CancellationToken.None);
        Assert.Equal((30L, 0L, BatchStates.Completed), (counts.Done, counts.InFlight, counts.Status));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"g-{i}"), await ReadResultsAsync("g", pageSize: 8));
    }

    [Fact]
    public async Task CancelAndDelete_ReachEveryPartition()
    {
        await CreateAsync("c");
        Assert.Equal(60, await AddChunksAsync("c", 60, 60));
        await _q.Batches.SealAsync("c", CancellationToken.None);
        var leases = await _q.TakeAsync(Owner, 6);

        var (stopped, removed) = await _q.Batches.StopAsync("c", BatchStates.Cancelled, CancellationToken.None);

        Assert.Equal((BatchStates.Cancelled, 54L), (stopped, removed));
        Assert.Equal(BatchStates.Cancelling, (await _q.Batches.GetCountsAsync("c", CancellationToken.None)).Status);
        foreach (var lease in leases)
        {
            Assert.Equal(CompleteOutcome.Stored, await _q.CompleteAsync(lease, Owner));
        }

        var counts = await _q.Batches.GetCountsAsync("c", CancellationToken.None);
        Assert.Equal((6L, 54L, BatchStates.Cancelled), (counts.Done, counts.Removed, counts.Status));
        Assert.Empty(await _q.TakeAsync(Owner, 100));

        Assert.Equal("deleted", await _q.Batches.DeleteAsync("c", CancellationToken.None));
        foreach (var keys in _q.Shards.Keys)
        {
            Assert.False(await _q.Db.KeyExistsAsync(keys.Batch("c")), keys.Batch("c"));
            Assert.False(await _q.Db.KeyExistsAsync(keys.Results("c")), keys.Results("c"));
        }

        Assert.False((await _q.Batches.GetCountsAsync("c", CancellationToken.None)).Exists);
    }

    [Fact]
    public async Task RecoveryAndDeadLetters_CoverEveryPartition()
    {
        await CreateAsync("r");
        Assert.Equal(30, await AddChunksAsync("r", 30, 10));
        Assert.Equal(30, (await _q.TakeAsync("dead-silo", 30)).Count);

        Assert.Equal((30, 0), await _q.Queue.RecoverOwnersAsync(["dead-silo"], "silo declared dead", CancellationToken.None));

        // MaxAttempts 2: recovery spent one, so each failure now dead-letters.
        var again = await _q.TakeAsync(Owner, 30);
        Assert.Equal(30, again.Count);
        foreach (var lease in again)
        {
            Assert.Equal(FailOutcome.DeadLettered, await _q.Queue.FailAsync(lease, Owner, "HTTP 500", TimeSpan.Zero, CancellationToken.None));
        }

        var dead = new List<string>();
        string? cursor = null;
        do
        {
            var page = await _q.Items.GetDeadLettersAsync("r", cursor, 4, CancellationToken.None);
            dead.AddRange(page.Entries.Select(e => JsonDocument.Parse(e).RootElement.GetProperty("item").GetRawText()));
            cursor = page.Next;
        }
        while (cursor is not null);

        Assert.Equal(30, dead.Distinct().Count());
        Assert.Equal(30, (await _q.Items.GetCountsAsync(10, CancellationToken.None)).DeadLettered);
        Assert.Equal((30L, 0L), await _q.Items.RetryDeadAsync("r", CancellationToken.None));
        Assert.Equal(30, (await _q.TakeAsync(Owner, 30)).Count);
    }

    private Task CreateAsync(string batchId) => _q.Batches.CreateAsync(batchId, new BatchSpec(null, null), CancellationToken.None);

    private async Task<int> AddChunksAsync(string batchId, int count, int chunk)
    {
        var added = 0;
        foreach (var items in Enumerable.Range(0, count).Select(i => Item(batchId, i)).Chunk(chunk))
        {
            added += await _q.Items.EnqueueAsync(batchId, items, CancellationToken.None);
        }

        return added;
    }

    /// <summary>Leases and answers everything, a few at a time and the last of each lease call first, but the very last lease.</summary>
    private async Task<(List<string> Ids, Lease Last)> AnswerAllButOneAsync()
    {
        var ids = new List<string>();
        Lease? held = null;
        while (await _q.TakeAsync(Owner, 7) is { Count: > 0 } leases)
        {
            if (held is not null)
            {
                Assert.Equal(CompleteOutcome.Stored, await _q.CompleteAsync(held, Owner));
                ids.Add(QueueTestExtensions.ItemIdOf(held));
            }

            foreach (var lease in leases.Skip(1).Reverse())
            {
                Assert.Equal(CompleteOutcome.Stored, await _q.CompleteAsync(lease, Owner));
                ids.Add(QueueTestExtensions.ItemIdOf(lease));
            }

            held = leases[0];
        }

        return (ids, held ?? throw new InvalidOperationException("nothing was leased"));
    }

    private async Task<List<string>> ReadResultsAsync(string batchId, int pageSize)
    {
        var ids = new List<string>();
        string? cursor = null;
        while (true)
        {
            var page = await _q.Batches.GetResultsAsync(batchId, cursor, pageSize, CancellationToken.None);
            if (page.Documents.Count == 0)
            {
                return ids;
            }

            ids.AddRange(page.Documents.Select(d => JsonDocument.Parse(d).RootElement.GetProperty("id").GetString()!));
            cursor = page.Next;
        }
    }

    private static BatchItem Item(string batchId, int i) => new($"{batchId}-{i}", $$"""{"city":"c{{i}}"}""");
}
