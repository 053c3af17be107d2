using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Queue.Scripts;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Batches;

/// <summary>
/// What Redis knows of batches: their definitions, their figures, their results; stopping, deleting, expiring and
/// forgetting them. Their items enter and leave the queue through <see cref="RedisQueueItems"/> and
/// <see cref="RedisLeaseQueue"/>, which own every write to it.
/// </summary>
/// <remarks>
/// Every call is bounded: a cancel or a delete removes queued items a page per script call, an expiry or a purge
/// takes batches a page at a time.
/// </remarks>
public sealed class RedisBatchStore(RedisConnection redis, RedisQueueItems queue, IOptions<QueueOptions> options, QueueClock clock, TimeProvider time)
{
    private readonly ScriptRunner _scripts = new(() => redis.Database, new QueueKeys(options.Value.Name), QueuePolicy.From(options.Value, clock));

    // The spec, whole (SpecJson), and beside it the fields the scripts read: its class, the model key its items are
    // routed by ('' for each silo's own model), its completion window (ms, '' for none) and its tenant.
    private const string SpecField = "spec";
    private const string PriorityField = "priority";
    private const string RouteField = "route";
    private const string WindowField = "window";

    // The API tenant whose batch it is ('' for the CLI's), read with the figures so listing batches costs no extra call.
    private const string TenantField = "tenant";

    // Batches one expiry or purge call takes: as many as the queue takes items a call.
    private const int Page = RedisQueueItems.Page;

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

    /// <summary>Removes a stopped batch's queued items, from where its spec says they wait.</summary>
    private async Task<long> RemoveQueuedAsync(string batchId, CancellationToken cancellationToken)
    {
        var values = await Db.HashGetAsync(Keys.Batch(batchId), [PriorityField, RouteField]).ConfigureAwait(false);
        var priority = BatchPriorities.TryParse((string?)values[0], out var p) ? p : BatchPriority.Normal;
        return await queue.RemoveQueuedAsync(batchId, priority, (string?)values[1], cancellationToken).ConfigureAwait(false);
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
            Tenant = f.GetValueOrDefault(TenantField) is { Length: > 0 } tenant ? tenant : null,
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

    /// <summary>Field, value, ... of a spec as CreateBatch stores it: the spec first, then what the scripts read of it.</summary>
    private static KeyValuePair<string, string>[] Stored(BatchSpec spec) =>
    [
        new(SpecField, SpecJson.Write(spec)),
        new(PriorityField, BatchPriorities.Name(spec.Priority)),
        new(RouteField, spec.Model is { } model ? ModelNames.Key(model) : string.Empty),
        new(WindowField, spec.CompletionWindow is { } window ? ((long)window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : string.Empty),
        new(TenantField, spec.Tenant ?? string.Empty),
    ];
}
