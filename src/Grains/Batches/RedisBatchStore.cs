using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Queue.Scripts;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Batches;

/// <summary>
/// What Redis knows of batches: their definitions, their items (numbered in submission order), their figures, their
/// results and dead letters. Items enter the queue here; they leave it through <see cref="RedisLeaseQueue"/>.
/// </summary>
/// <remarks>
/// Every call is bounded: items go in pages, and a cancel, a retry or a delete walks the queue a page per script call.
/// </remarks>
public sealed class RedisBatchStore(RedisConnection redis, IOptions<QueueOptions> options, QueueClock clock, TimeProvider time)
{
    private readonly ScriptRunner _scripts = new(() => redis.Database, new QueueKeys(options.Value.Name), QueuePolicy.From(options.Value, clock));

    // The spec, whole (SpecJson), and beside it the three of its fields the scripts read: its class, the model key
    // its items are routed by ('' for each silo's own model), and its completion window (ms, '' for none).
    private const string SpecField = "spec";
    private const string PriorityField = "priority";
    private const string RouteField = "route";
    private const string WindowField = "window";

    /// <summary>
    /// How many items, queued entries or dead letters one script call takes: about a millisecond of Redis (enqueue
    /// costs 8–15 µs an item; the million benchmark saw 20–25 ms calls at 500).
    /// </summary>
    internal const int Page = 100;

    /// <summary>How many entries one ZSCAN call reads (no script: Redis interleaves other clients between calls).</summary>
    private const int ScanPage = 500;

    private const long DayMs = 86_400_000;

    public QueueKeys Keys { get; } = new(options.Value.Name);

    private IDatabase Db => redis.Database;

    /// <summary>Stores a new batch's spec (<see cref="BatchSpec.Normalised"/>), unless the batch exists.</summary>
    /// <returns>The spec already stored when the batch existed, else null.</returns>
    public async Task<BatchSpec?> CreateAsync(string batchId, BatchSpec spec, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var existing = (RedisResult[])(await _scripts.RunAsync(new CreateBatchCall(batchId, time.GetUtcNow(), Stored(spec))).ConfigureAwait(false))!;
        return existing.Length == 0 ? null : SpecJson.Read((string)existing[0]!);
    }

    /// <summary>The spec of a batch a client created; null for an unknown batch.</summary>
    public async Task<BatchSpec?> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var json = await Db.HashGetAsync(Keys.Batch(batchId), SpecField).ConfigureAwait(false);
        return json.IsNull ? null : SpecJson.Read(json!);
    }

    /// <summary>Marks the submission complete, so the batch is complete once its items are done.</summary>
    public async Task SealAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await _scripts.RunAsync(new SealCall(batchId)).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds a batch's items, in their envelopes (with their trace context), to its priority class's ready set, where
    /// they take turns with the class's other batches; ids the batch already has are skipped.
    /// </summary>
    /// <returns>How many were new.</returns>
    public async Task<int> AddItemsAsync(string batchId, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
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
    /// Stops a batch (<c>cancelled</c> or <c>expired</c>) and removes its queued items at once; items in flight finish
    /// and keep their results. Stopping a stopped batch removes what is left and keeps the first reason.
    /// </summary>
    /// <returns>The reason in effect and how many queued items this call removed.</returns>
    public async Task<(string Stopped, long Removed)> StopAsync(string batchId, string why, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stopped = (string)(await _scripts.RunAsync(new StopBatchCall(batchId, why, time.GetUtcNow())).ConfigureAwait(false))!;
        return (stopped, await RemoveQueuedAsync(batchId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Deletes a batch and everything it holds: at once when it has ended; else it is cancelled, its queued items are
    /// removed, and it goes when its last item in flight ends.
    /// </summary>
    /// <returns><c>deleted</c>, <c>deleting</c> (items in flight finish first), or <c>missing</c>.</returns>
    public async Task<string> DeleteAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var outcome = (string)(await _scripts.RunAsync(new DeleteBatchCall(batchId, time.GetUtcNow())).ConfigureAwait(false))!;
        if (outcome != "deleting")
        {
            return outcome;
        }

        await RemoveQueuedAsync(batchId, cancellationToken).ConfigureAwait(false);
        return await Db.KeyExistsAsync(Keys.Batch(batchId)).ConfigureAwait(false) ? "deleting" : "deleted";
    }

    /// <summary>
    /// Removes a stopped batch's queued items: ZSCAN finds its envelopes in its class's ready set and its model's
    /// parked set by their prefix, a page at a time, so Redis is never busy long; the lease script removes any met
    /// in the meantime.
    /// </summary>
    private async Task<long> RemoveQueuedAsync(string batchId, CancellationToken cancellationToken)
    {
        var values = await Db.HashGetAsync(Keys.Batch(batchId), [PriorityField, RouteField]).ConfigureAwait(false);
        var priority = BatchPriorities.TryParse((string?)values[0], out var p) ? p : BatchPriority.Normal;
        var sets = (string?)values[1] is { Length: > 0 } route ? new[] { Keys.ReadyClass(priority), Keys.Parked(route) } : [Keys.ReadyClass(priority)];
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
    /// Stops every batch whose deadline has passed by <see cref="TimeProvider"/>'s clock as <c>expired</c> and removes
    /// what is still queued of each; a batch that completed in time is left as it is. Safe from any number of silos.
    /// </summary>
    /// <returns>The batches expired and the items removed.</returns>
    public async Task<(int Batches, long Removed)> ExpireDueAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = await Db.SortedSetRangeByScoreAsync(Keys.BatchDeadlines, double.NegativeInfinity, now, take: Page).ConfigureAwait(false);
        var (expired, removed) = (0, 0L);
        foreach (var batchId in due.Select(b => (string)b!))
        {
            var c = await GetCountsAsync(batchId, cancellationToken).ConfigureAwait(false);
            // Neither finished in time nor stopped already.
            if (c.Status is BatchStates.Validating or BatchStates.InProgress)
            {
                removed += (await StopAsync(batchId, BatchStates.Expired, cancellationToken).ConfigureAwait(false)).Removed;
                expired++;
            }

            // Only once stopped: a silo that dies before this line leaves the batch for the next sweep.
            await Db.SortedSetRemoveAsync(Keys.BatchDeadlines, batchId).ConfigureAwait(false);
        }

        return (expired, removed);
    }

    /// <summary>Forgets the batches whose keys expired (<see cref="QueueOptions.ResultTtl"/> after they ended), a page per call.</summary>
    /// <returns>How many batches were forgotten.</returns>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var purged = 0;
        int page;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            page = (int)((RedisResult[])(await _scripts.RunAsync(new PurgeCall(Page)).ConfigureAwait(false))!)[0];
            purged += page;
        }
        while (page == Page);

        return purged;
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

    /// <summary>The stored result of one item, or null. A raw item's is looked for in today's and yesterday's results.</summary>
    public async Task<string?> GetResultAsync(string batchId, string itemId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (batchId != BatchIds.Default)
        {
            return await Db.HashGetAsync(Keys.Results(batchId), itemId).ConfigureAwait(false);
        }

        var today = time.GetUtcNow().ToUnixTimeMilliseconds() / DayMs;
        return await Db.HashGetAsync(Keys.RawResults(today), itemId).ConfigureAwait(false) is { IsNull: false } found
            ? found
            : await Db.HashGetAsync(Keys.RawResults(today - 1), itemId).ConfigureAwait(false);
    }

    public async Task<BatchCounts> GetCountsAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var r = (RedisResult[])(await _scripts.RunAsync(new ProgressCall(batchId)).ConfigureAwait(false))!;
        var f = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < r.Length; i += 2)
        {
            f[(string)r[i]!] = (string)r[i + 1]!;
        }

        long Count(string name) => f.TryGetValue(name, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : 0;
        DateTimeOffset? At(string name) => f.ContainsKey(name) ? DateTimeOffset.FromUnixTimeMilliseconds(Count(name)) : null;
        var parked = Count("parked");
        return new BatchCounts(
            Exists: f.ContainsKey("created"),
            Sealed: f.GetValueOrDefault("sealed") == "1",
            Total: Count("total"),
            InFlight: Math.Max(0, Count("inflight")),
            Done: Count("done"),
            DeadLettered: Count("dead"))
        {
            Priority = BatchPriorities.TryParse(f.GetValueOrDefault("priority"), out var priority) ? priority : BatchPriority.Normal,
            Stopped = f.GetValueOrDefault("stopped"),
            Removed = Count("removed"),
            Parked = parked,
            WaitingForModel = parked > 0 && f.GetValueOrDefault("route") is { Length: > 0 } model ? model : null,
            Deadline = At("deadline"),
            Late = Count("late"),
            Ended = At("ended"),
            Expires = At("expires"),
        };
    }

    /// <summary>What the backend did for the batch so far: tokens and time of every answer, dead-lettered and late ones included.</summary>
    public async Task<TokenUsage> GetUsageAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var v = await Db.HashGetAsync(Keys.Batch(batchId), ["prompt_tokens", "completion_tokens", "backend_ms"]).ConfigureAwait(false);
        return new TokenUsage((long?)v[0] ?? 0, (long?)v[1] ?? 0, TimeSpan.FromMilliseconds((long?)v[2] ?? 0));
    }

    /// <summary>
    /// Up to <paramref name="count"/> results from <paramref name="cursor"/> (null: from the start). A batch's cursor is
    /// the number of its last result read; the raw items' is <c>DAY:POSITION</c> in their daily buckets.
    /// </summary>
    /// <exception cref="ArgumentException">The cursor is not one this store gave out.</exception>
    public async Task<StoredResults> GetResultsAsync(string batchId, string? cursor, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (batchId != BatchIds.Default)
        {
            var after = cursor is null ? 0 : long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw BadCursor(cursor);
            var (documents, last) = await ReadResultsAsync(batchId, after, count).ConfigureAwait(false);
            // Results stored later come after the last cursor, so a live batch can be followed.
            return new StoredResults(documents, last?.ToString(CultureInfo.InvariantCulture) ?? cursor);
        }

        // Raw items: day after day, from the oldest day still kept.
        var days = (await Db.SortedSetRangeByRankAsync(Keys.RawDays).ConfigureAwait(false)).Select(d => (long)d).ToList();
        var (day, position) = cursor is null ? (days.FirstOrDefault(), 0L) : ParseRawCursor(cursor);
        foreach (var d in days.Where(d => d >= day))
        {
            var (documents, last) = await ReadResultsAsync($"{BatchIds.Default}@{d}", d == day ? position : 0, count).ConfigureAwait(false);
            if (documents.Count > 0)
            {
                return new StoredResults(documents, $"{d}:{last}");
            }
        }

        return new StoredResults([], cursor);
    }

    private async Task<(IReadOnlyList<string> Documents, long? Last)> ReadResultsAsync(string whose, long after, int count)
    {
        var r = (RedisResult[])(await _scripts.RunAsync(new ResultsCall(whose, after, count)).ConfigureAwait(false))!;
        var documents = new List<string>(r.Length / 2);
        long? last = null;
        for (var i = 0; i + 1 < r.Length; i += 2)
        {
            documents.Add((string)r[i]!);
            last = (long)r[i + 1];
        }

        return (documents, last);
    }

    private static (long Day, long Position) ParseRawCursor(string cursor) =>
        cursor.Split(':') is [var d, var p]
        && long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var day)
        && long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            ? (day, position)
            : throw BadCursor(cursor);

    private static ArgumentException BadCursor(string cursor) => new($"'{cursor}' is not a cursor this batch gave out.");

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

    public async Task<QueueCounts> GetQueueCountsAsync(int recentBatches, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var batch = Db.CreateBatch();
        var ready = ReadyAsync(batch);
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
    internal Task<long> ReadyAsync(IBatch batch) => ReadyCountAsync(batch, Keys);

    /// <inheritdoc cref="ReadyAsync"/>
    internal static async Task<long> ReadyCountAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var list = db.ListLengthAsync(keys.Ready);
        var sets = BatchPriorities.All.Select(p => db.SortedSetLengthAsync(keys.ReadyClass(p))).ToArray();
        return await list.ConfigureAwait(false) + (await Task.WhenAll(sets).ConfigureAwait(false)).Sum();
    }

    /// <summary>Field, value, ... of a spec as CreateBatch stores it: the spec first, then what the scripts read of it.</summary>
    private static KeyValuePair<string, string>[] Stored(BatchSpec spec) =>
    [
        new(SpecField, SpecJson.Write(spec)),
        new(PriorityField, BatchPriorities.Name(spec.Priority)),
        new(RouteField, spec.Model is { } model ? ModelNames.Key(model) : string.Empty),
        new(WindowField, spec.CompletionWindow is { } window ? ((long)window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : string.Empty),
    ];
}
