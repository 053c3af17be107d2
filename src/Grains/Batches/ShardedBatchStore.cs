using System.Globalization;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Batches;

/// <summary>
/// What Redis knows of batches, over every partition of the queue (<see cref="QueueShards"/>), one
/// <see cref="RedisBatchStore"/> each: a batch exists in every partition, each part holding the items enqueued there.
/// Creating, sealing, stopping, deleting, expiring and purging go to every part; counts and usage add the parts up;
/// results are read from all parts by item number, so in submission order (see <see cref="ShardedQueueItems"/>).
/// With one shard every call is the one queue's own.
/// </summary>
public sealed class ShardedBatchStore
{
    private readonly RedisConnection _redis;
    private readonly RedisBatchStore[] _parts;

    public ShardedBatchStore(RedisConnection redis, ShardedQueueItems queue, QueueClock clock, TimeProvider time)
    {
        _redis = redis;
        Shards = queue.Shards;
        _parts = [.. Shards.Partitions.Select((p, i) => new RedisBatchStore(redis, queue.Partitions[i], Microsoft.Extensions.Options.Options.Create(p), clock, time))];
    }

    public QueueShards Shards { get; }

    /// <summary>Each partition's store, in partition order.</summary>
    public IReadOnlyList<RedisBatchStore> Partitions => _parts;

    private IDatabase Db => _redis.Database;

    /// <summary>Stores a new batch in every partition (<see cref="RedisBatchStore.CreateAsync"/>), the first one first.</summary>
    /// <returns>The spec already stored when the batch existed, else null.</returns>
    public async Task<BatchSpec?> CreateAsync(string batchId, BatchSpec spec, CancellationToken cancellationToken)
    {
        var existing = await _parts[0].CreateAsync(batchId, spec, cancellationToken).ConfigureAwait(false);
        // A creation cut short is completed with the spec the first part has.
        await Task.WhenAll(_parts.Skip(1).Select(p => p.CreateAsync(batchId, existing ?? spec, cancellationToken))).ConfigureAwait(false);
        return existing;
    }

    /// <summary>The batch's spec, from the first part that has it; null for an unknown batch.</summary>
    public async Task<BatchSpec?> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        foreach (var part in _parts)
        {
            if (await part.GetAsync(batchId, cancellationToken).ConfigureAwait(false) is { } spec)
            {
                return spec;
            }
        }

        return null;
    }

    public Task SealAsync(string batchId, CancellationToken cancellationToken) =>
        Task.WhenAll(_parts.Select(p => p.SealAsync(batchId, cancellationToken)));

    /// <summary>Stops every part of the batch (<see cref="RedisBatchStore.StopAsync"/>).</summary>
    public async Task<(string Stopped, long Removed)> StopAsync(string batchId, string why, CancellationToken cancellationToken)
    {
        var stopped = await Task.WhenAll(_parts.Select(p => p.StopAsync(batchId, why, cancellationToken))).ConfigureAwait(false);
        return (stopped[0].Stopped, stopped.Sum(s => s.Removed));
    }

    /// <summary>Deletes every part of the batch (<see cref="RedisBatchStore.DeleteAsync"/>).</summary>
    /// <returns><c>deleting</c> while a part has items in flight, <c>missing</c> when no part existed, else <c>deleted</c>.</returns>
    public async Task<string> DeleteAsync(string batchId, CancellationToken cancellationToken)
    {
        var outcomes = await Task.WhenAll(_parts.Select(p => p.DeleteAsync(batchId, cancellationToken))).ConfigureAwait(false);
        return outcomes.Contains("deleting") ? "deleting" : outcomes.All(o => o == "missing") ? "missing" : "deleted";
    }

    /// <summary>
    /// Expires, in every partition, the parts of batches past their deadline that had not completed
    /// (<see cref="RedisBatchStore.ExpireDueAsync"/>): a batch is expired unless every part completed in time.
    /// </summary>
    public async Task<(int Batches, long Removed)> ExpireDueAsync(CancellationToken cancellationToken)
    {
        var expired = await Task.WhenAll(_parts.Select(p => p.ExpireDueAsync(cancellationToken))).ConfigureAwait(false);
        return (expired.Max(e => e.Batches), expired.Sum(e => e.Removed));
    }

    /// <summary>Forgets, in every partition, the batches whose keys expired.</summary>
    /// <returns>How many batches the partition that forgot most forgot.</returns>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken) =>
        (await Task.WhenAll(_parts.Select(p => p.PurgeAsync(cancellationToken))).ConfigureAwait(false)).Max();

    /// <summary>The stored result of one item, from whichever partition has it, or null.</summary>
    public async Task<string?> GetResultAsync(string batchId, string itemId, CancellationToken cancellationToken)
    {
        foreach (var part in _parts)
        {
            if (await part.GetResultAsync(batchId, itemId, cancellationToken).ConfigureAwait(false) is { } result)
            {
                return result;
            }
        }

        return null;
    }

    /// <summary>The batch's figures, its parts added up (<see cref="BatchCounts"/> of the whole).</summary>
    public async Task<BatchCounts> GetCountsAsync(string batchId, CancellationToken cancellationToken) =>
        _parts.Length == 1
            ? await _parts[0].GetCountsAsync(batchId, cancellationToken).ConfigureAwait(false)
            : BatchParts.Add(await Task.WhenAll(_parts.Select(p => p.GetCountsAsync(batchId, cancellationToken))).ConfigureAwait(false));

    /// <summary>What the backend did for the batch so far, over every part.</summary>
    public async Task<TokenUsage> GetUsageAsync(string batchId, CancellationToken cancellationToken) =>
        (await Task.WhenAll(_parts.Select(p => p.GetUsageAsync(batchId, cancellationToken))).ConfigureAwait(false)).Aggregate(TokenUsage.Zero, (a, b) => a + b);

    /// <summary>
    /// Up to <paramref name="count"/> results from <paramref name="cursor"/> (<see cref="RedisBatchStore.GetResultsAsync"/>).
    /// A batch's are read from every partition past the cursor's item number and taken lowest number first, so in
    /// submission order; its cursor is the last number read, as with one shard. The raw items' are read partition
    /// by partition, under the cursor <c>PARTITION/CURSOR</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The cursor is not one this store gave out.</exception>
    public async Task<StoredResults> GetResultsAsync(string batchId, string? cursor, int count, CancellationToken cancellationToken)
    {
        if (_parts.Length == 1)
        {
            return await _parts[0].GetResultsAsync(batchId, cursor, count, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return batchId == BatchIds.Default
            ? await RawResultsAsync(cursor, count, cancellationToken).ConfigureAwait(false)
            : await MergedResultsAsync(batchId, cursor, count).ConfigureAwait(false);
    }

    private async Task<StoredResults> MergedResultsAsync(string batchId, string? cursor, int count)
    {
        var after = cursor is null ? 0 : long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw BadCursor(cursor);
        // The numbers first, a page from each partition; then only the documents that make the page. Results are only
        // ever added while a batch lives, so the two reads agree.
        var orders = await Task.WhenAll(Shards.Keys.Select(k =>
            Db.SortedSetRangeByScoreWithScoresAsync(k.ResultOrder(batchId), after, double.PositiveInfinity, Exclude.Start, take: count))).ConfigureAwait(false);
        var page = orders
            .SelectMany((entries, shard) => entries.Select(e => (Shard: shard, Id: e.Element, Number: (long)e.Score)))
            .OrderBy(e => e.Number)
            .Take(count)
            .ToArray();
        if (page.Length == 0)
        {
            return new StoredResults([], cursor);
        }

        var documents = new Dictionary<(int, RedisValue), string>();
        foreach (var (shard, ids, docs) in await Task.WhenAll(page.GroupBy(e => e.Shard).Select(async g =>
        {
            var ids = g.Select(e => e.Id).ToArray();
            return (g.Key, ids, await Db.HashGetAsync(Shards.Keys[g.Key].Results(batchId), ids).ConfigureAwait(false));
        })).ConfigureAwait(false))
        {
            for (var i = 0; i < ids.Length; i++)
            {
                documents[(shard, ids[i])] = (string?)docs[i] ?? string.Empty;
            }
        }

        return new StoredResults([.. page.Select(e => documents[(e.Shard, e.Id)])], page[^1].Number.ToString(CultureInfo.InvariantCulture));
    }

    private async Task<StoredResults> RawResultsAsync(string? cursor, int count, CancellationToken cancellationToken)
    {
        var (shard, inner) = cursor is null
            ? (0, null)
            : cursor.Split('/', 2) is [var s, var rest] && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p < _parts.Length
                ? (p, rest.Length == 0 ? null : rest)
                : throw BadCursor(cursor);
        while (true)
        {
            var page = await _parts[shard].GetResultsAsync(BatchIds.Default, inner, count, cancellationToken).ConfigureAwait(false);
            if (page.Documents.Count > 0 || shard + 1 == _parts.Length)
            {
                return page with { Next = page.Next is null ? cursor : string.Create(CultureInfo.InvariantCulture, $"{shard}/{page.Next}") };
            }

            (shard, inner) = (shard + 1, null);
        }
    }

    private static ArgumentException BadCursor(string cursor) => new($"'{cursor}' is not a cursor this batch gave out.");
}
