using System.Globalization;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The items of every partition of the queue (<see cref="QueueShards"/>), one <see cref="RedisQueueItems"/> each:
/// a batch's items are spread over the partitions, its dead letters are retried in each, and the queue's figures add
/// them up. With one shard every call is the one queue's own.
/// </summary>
/// <remarks>
/// A batch's items keep one submission order over the partitions: each chunk is cut into one run per partition, and
/// before a run is enqueued, its partition's item sequence is raised to the highest of all partitions'. So every item
/// number a batch gets is above each number it got before in any partition, and its results, read by number from all
/// partitions at once, come in submission order (<c>ShardedBatchStore</c>).
/// </remarks>
public sealed class ShardedQueueItems
{
    private readonly RedisConnection _redis;
    private readonly RedisQueueItems[] _parts;

    // The partition the next chunk's first run goes to, in turn, so small batches spread too.
    private int _turn = -1;

    public ShardedQueueItems(RedisConnection redis, QueueShards shards, QueueClock clock, TimeProvider time)
    {
        _redis = redis;
        Shards = shards;
        _parts = [.. shards.Partitions.Select(p => new RedisQueueItems(redis, Microsoft.Extensions.Options.Options.Create(p), clock, time))];
    }

    public QueueShards Shards { get; }

    /// <summary>Each partition's items, in partition order.</summary>
    public IReadOnlyList<RedisQueueItems> Partitions => _parts;

    private IDatabase Db => _redis.Database;

    /// <summary>
    /// Adds a batch's items (<see cref="RedisQueueItems.EnqueueAsync"/>), in one run per partition, in their order;
    /// ids the batch already has, in any partition, are skipped. The batch must exist in every partition.
    /// </summary>
    /// <returns>How many were new.</returns>
    public async Task<int> EnqueueAsync(string batchId, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        if (_parts.Length == 1)
        {
            return await _parts[0].EnqueueAsync(batchId, items, cancellationToken).ConfigureAwait(false);
        }

        var fresh = await NewItemsAsync(batchId, items).ConfigureAwait(false);
        var run = (fresh.Count + _parts.Length - 1) / _parts.Length;
        var start = (int)((uint)Interlocked.Increment(ref _turn) % (uint)_parts.Length);
        var added = 0;
        for (var i = 0; i * run < fresh.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var shard = (start + i) % _parts.Length;
            await NumberAfterEveryPartitionAsync(shard).ConfigureAwait(false);
            added += await _parts[shard].EnqueueAsync(batchId, fresh.GetRange(i * run, Math.Min(run, fresh.Count - i * run)), cancellationToken).ConfigureAwait(false);
        }

        return added;
    }

    /// <summary>The first item of each id that the batch has in no partition yet: an id always stays in one partition.</summary>
    private async Task<List<BatchItem>> NewItemsAsync(string batchId, IReadOnlyList<BatchItem> items)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var firsts = items.Where(i => seen.Add(i.Id)).ToList();
        if (firsts.Count == 0)
        {
            return firsts;
        }

        var ids = firsts.Select(i => (RedisValue)i.Id).ToArray();
        var known = await Task.WhenAll(Shards.Keys.Select(k => Db.HashGetAsync(k.BatchItems(batchId), ids))).ConfigureAwait(false);
        return [.. firsts.Where((_, i) => known.All(k => k[i].IsNull))];
    }

    /// <summary>
    /// Raises partition <paramref name="shard"/>'s item sequence to the highest of every partition's, so the numbers
    /// its next items get are above all given before. Raised by INCRBY, never set: a number is never given twice,
    /// and an enqueue running meanwhile only raises it further.
    /// </summary>
    private async Task NumberAfterEveryPartitionAsync(int shard)
    {
        var sequences = await Task.WhenAll(Shards.Keys.Select(k => Db.StringGetAsync(k.ItemSequence))).ConfigureAwait(false);
        var highest = sequences.Max(s => (long?)s ?? 0);
        var own = (long?)sequences[shard] ?? 0;
        if (own < highest)
        {
            await Db.StringIncrementAsync(Shards.Keys[shard].ItemSequence, highest - own).ConfigureAwait(false);
        }
    }

    /// <summary>Puts the batch's dead-lettered items back in every partition (<see cref="RedisQueueItems.RetryDeadAsync"/>).</summary>
    public async Task<(long Retried, long TooLarge)> RetryDeadAsync(string batchId, CancellationToken cancellationToken)
    {
        var retried = await Task.WhenAll(_parts.Select(p => p.RetryDeadAsync(batchId, cancellationToken))).ConfigureAwait(false);
        return (retried.Sum(r => r.Retried), retried.Sum(r => r.TooLarge));
    }

    /// <summary>
    /// A page of dead letters (<see cref="RedisQueueItems.GetDeadLettersAsync"/>): partition by partition, each read
    /// to its end before the next. With more than one shard the cursor is <c>PARTITION/CURSOR</c>.
    /// </summary>
    public async Task<StoredDeadLetters> GetDeadLettersAsync(string? batchId, string? cursor, int count, CancellationToken cancellationToken)
    {
        if (_parts.Length == 1)
        {
            return await _parts[0].GetDeadLettersAsync(batchId, cursor, count, cancellationToken).ConfigureAwait(false);
        }

        var (shard, inner) = cursor is null ? (0, null) : ParseCursor(cursor);
        while (true)
        {
            var page = await _parts[shard].GetDeadLettersAsync(batchId, inner, count, cancellationToken).ConfigureAwait(false);
            if (page.Next is { } next)
            {
                return page with { Next = string.Create(CultureInfo.InvariantCulture, $"{shard}/{next}") };
            }

            if (shard + 1 == _parts.Length || page.Entries.Count > 0)
            {
                return page with { Next = shard + 1 == _parts.Length ? null : string.Create(CultureInfo.InvariantCulture, $"{shard + 1}/") };
            }

            (shard, inner) = (shard + 1, null);
        }
    }

    private (int Shard, string? Inner) ParseCursor(string cursor) =>
        cursor.Split('/', 2) is [var s, var inner] && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var shard) && shard < _parts.Length
            ? (shard, inner.Length == 0 ? null : inner)
            : throw new ArgumentException($"'{cursor}' is not a cursor the dead-letter list gave out.");

    /// <summary>The batches, newest first (<see cref="RedisQueueItems.GetBatchesAsync"/>): every partition lists every batch, so the first one's list serves.</summary>
    public Task<BatchListPage> GetBatchesAsync(string? cursor, int count, CancellationToken cancellationToken) =>
        _parts[0].GetBatchesAsync(cursor, count, cancellationToken);

    /// <summary>The whole queue's figures, added up over the partitions, and its <paramref name="recentBatches"/> newest batches.</summary>
    public async Task<QueueCounts> GetCountsAsync(int recentBatches, CancellationToken cancellationToken)
    {
        var parts = await Task.WhenAll(_parts.Select(p => p.GetCountsAsync(recentBatches, cancellationToken))).ConfigureAwait(false);
        return _parts.Length == 1
            ? parts[0]
            : new QueueCounts(Shards.Name, parts.Sum(p => p.Ready), parts.Sum(p => p.InFlight), parts.Sum(p => p.DeadLettered), parts[0].RecentBatches);
    }
}
