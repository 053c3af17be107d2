using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue.Scripts;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The queue's items outside a lease: a batch's items enqueued, a stopped batch's queued items removed, its dead
/// letters put back; and the queue's figures, its batches and dead-letter pages. Leases are <see cref="RedisLeaseQueue"/>'s.
/// </summary>
/// <remarks>
/// Every call is bounded: items go in pages, and a removal or a retry walks the queue a page per script call.
/// </remarks>
public sealed class RedisQueueItems(RedisConnection redis, IOptions<QueueOptions> options, QueueClock clock, TimeProvider time)
{
    private readonly ScriptRunner _scripts = new(() => redis.Database, new QueueKeys(options.Value.Name), QueuePolicy.From(options.Value, clock));

    /// <summary>
    /// How many items, queued entries, dead letters or batches one script call takes: about a millisecond of Redis
    /// (enqueue costs 8–15 µs an item; the million benchmark saw 20–25 ms calls at 500).
    /// </summary>
    internal const int Page = 100;

    /// <summary>How many entries one ZSCAN call reads (no script: Redis interleaves other clients between calls).</summary>
    private const int ScanPage = 500;

    public QueueKeys Keys { get; } = new(options.Value.Name);

    private IDatabase Db => redis.Database;

    /// <summary>
    /// Adds a batch's items, in their envelopes (with their trace context), to its priority class's ready set, where
    /// they take turns with the class's other batches; ids the batch already has are skipped.
    /// </summary>
    /// <returns>How many were new.</returns>
    public async Task<int> EnqueueAsync(string batchId, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var page in items.Chunk(Page))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var call = new EnqueueCall(batchId, page.Select(i => (i.Id, Envelope.Encode(batchId, i.Id, i.Json, i.TraceParent))).ToArray());
            added += (int)await _scripts.RunAsync(call).ConfigureAwait(false);
        }

        return added;
    }

    /// <summary>
    /// Removes a stopped batch's queued items: ZSCAN finds its envelopes in its class's ready set and, for a batch
    /// routed to a model (<paramref name="route"/>, its model key), that model's parked set, by their prefix, a page
    /// at a time, so Redis is never busy long; the lease script removes any met in the meantime.
    /// </summary>
    /// <returns>How many queued items this call removed.</returns>
    public async Task<long> RemoveQueuedAsync(string batchId, BatchPriority priority, string? route, CancellationToken cancellationToken)
    {
        var sets = route is { Length: > 0 } ? new[] { Keys.ReadyClass(priority), Keys.Parked(route) } : [Keys.ReadyClass(priority)];
        // Glob: the batch id's characters (letters, digits, '.', '_', '-') match themselves, and '"' ends it.
        var pattern = $"{Envelope.Prefix}{batchId}\",*";
        var removed = 0L;
        foreach (var set in sets)
        {
            var page = new List<RedisValue>(Page);
            await foreach (var entry in Db.SortedSetScanAsync(set, pattern, ScanPage).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                page.Add(entry.Element);
                if (page.Count == Page)
                {
                    removed += (long)await _scripts.RunAsync(new RemoveQueuedCall(batchId, page)).ConfigureAwait(false);
                    page = new List<RedisValue>(Page);
                }
            }

            removed += page.Count > 0 ? (long)await _scripts.RunAsync(new RemoveQueuedCall(batchId, page)).ConfigureAwait(false) : 0;
        }

        return removed;
    }

    /// <summary>
    /// Puts the batch's dead-lettered items back in its class's ready set with fresh attempts, a page of its dead
    /// letters at a time; their entries are marked retried and no longer listed.
    /// </summary>
    /// <returns>How many went back, and how many could not (their item was cut short in the dead letter).</returns>
    public async Task<(long Retried, long TooLarge)> RetryDeadAsync(string batchId, CancellationToken cancellationToken)
    {
        long retried = 0, tooLarge = 0, length;
        var first = 0L;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var r = (RedisResult[])(await _scripts.RunAsync(new RetryDeadCall(batchId, first, Page, time.GetUtcNow())).ConfigureAwait(false))!;
            (retried, tooLarge, length) = (retried + (long)r[0], tooLarge + (long)r[1], (long)r[2]);
            first += Page;
        }
        while (first < length);

        return (retried, tooLarge);
    }

    /// <summary>
    /// Up to <paramref name="count"/> of a batch's dead letters from <paramref name="cursor"/> (null: the oldest), as
    /// the Lua scripts wrote them; or, for <paramref name="batchId"/> null, of every batch's in turn (the raw items'
    /// first, then the batches' by creation). Entries are only ever appended, so positions stay put while paging.
    /// </summary>
    public async Task<StoredDeadLetters> GetDeadLettersAsync(string? batchId, string? cursor, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (batch, start) = cursor is null
            ? (batchId ?? BatchIds.Default, 0L)
            : cursor.Split(':') is [var b, var s] && BatchIds.IsValid(b) && (batchId is null || b == batchId)
              && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var p)
                ? (b, p)
                : throw new ArgumentException($"'{cursor}' is not a cursor the dead-letter list gave out.");
        while (true)
        {
            var entries = (await Db.ListRangeAsync(Keys.DeadLetters(batch), start, start + count - 1).ConfigureAwait(false)).Select(e => (string)e!).ToArray();
            if (entries.Length == count)
            {
                return new StoredDeadLetters(entries, $"{batch}:{start + count}");
            }

            // This batch's list is read to its end: on to the next batch, unless one was asked for.
            var next = batchId is null ? await NextBatchAsync(batch).ConfigureAwait(false) : null;
            if (entries.Length > 0 || next is null)
            {
                return new StoredDeadLetters(entries, next is null ? null : $"{next}:0");
            }

            (batch, start) = (next, 0);
        }
    }

    private async Task<string?> NextBatchAsync(string batchId)
    {
        var rank = batchId == BatchIds.Default ? -1 : await Db.SortedSetRankAsync(Keys.Batches, batchId).ConfigureAwait(false);
        if (rank is null)
        {
            return null;
        }

        var next = await Db.SortedSetRangeByRankAsync(Keys.Batches, rank.Value + 1, rank.Value + 1).ConfigureAwait(false);
        return next.Length == 0 ? null : (string)next[0]!;
    }

    /// <summary>
    /// Up to <paramref name="count"/> batches, newest first, after the batch <paramref name="cursor"/> names (null: from
    /// the newest), read in one script.
    /// </summary>
    /// <exception cref="ArgumentException">The cursor's batch is no longer listed.</exception>
    public async Task<BatchListPage> GetBatchesAsync(string? cursor, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // One more than asked for says whether there is a next page.
        var r = (RedisResult[])(await _scripts.RunAsync(new ListBatchesCall(cursor, count + 1)).ConfigureAwait(false))!;
        var total = (long)r[0];
        if (total < 0)
        {
            throw new ArgumentException($"'{cursor}' is not a listed batch (deleted or forgotten since): read the batches from the newest again.");
        }

        var batches = new List<BatchListing>(count);
        for (var i = 1; i + 1 < r.Length && batches.Count < count; i += 2)
        {
            batches.Add(new BatchListing((string)r[i]!, DateTimeOffset.FromUnixTimeMilliseconds((long)(double)r[i + 1])));
        }

        var more = (r.Length - 1) / 2 > count;
        return new BatchListPage(batches, total, more ? batches[^1].BatchId : null);
    }

    /// <summary>The whole queue's figures, read in one round trip, and its <paramref name="recentBatches"/> newest batches.</summary>
    public async Task<QueueCounts> GetCountsAsync(int recentBatches, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var batch = Db.CreateBatch();
        var ready = ReadyCountAsync(batch, Keys);
        var inFlight = batch.HashLengthAsync(Keys.InFlight);
        var dead = batch.HashGetAsync(Keys.Stats, "dead");
        var batches = batch.SortedSetRangeByRankAsync(Keys.Batches, 0, recentBatches - 1, Order.Descending);
        batch.Execute();
        return new QueueCounts(
            Keys.Name,
            await ready.ConfigureAwait(false),
            await inFlight.ConfigureAwait(false),
            (long?)await dead.ConfigureAwait(false) ?? 0,
            (await batches.ConfigureAwait(false)).Select(v => (string)v!).ToArray());
    }

    /// <summary>Items waiting for a lease: the raw ready list and every priority class's ready set.</summary>
    internal static async Task<long> ReadyCountAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var list = db.ListLengthAsync(keys.Ready);
        var sets = BatchPriorities.All.Select(p => db.SortedSetLengthAsync(keys.ReadyClass(p))).ToArray();
        return await list.ConfigureAwait(false) + (await Task.WhenAll(sets).ConfigureAwait(false)).Sum();
    }
}
