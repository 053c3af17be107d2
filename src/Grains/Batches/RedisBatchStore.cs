using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Batches;

/// <summary>
/// What Redis knows of batches: their definitions, their items (numbered in submission order), their figures and
/// their results. Items enter the queue here; they leave it through <see cref="RedisLeaseQueue"/>.
/// </summary>
public sealed class RedisBatchStore(RedisConnection redis, IOptions<QueueOptions> options, TimeProvider time)
{
    private readonly QueuePolicy _policy = QueuePolicy.From(options.Value);

    private const string PromptField = "prompt";
    private const string AnswerField = "field";
    private const string SealedField = "sealed";
    private const string ModelField = "model";
    private const string OptionsField = "options";
    private const string SystemField = "system";
    private const string FormatField = "format";
    private const string ChatField = "chat";
    private const string PriorityField = "priority";
    private const string WindowField = "window";
    private const string RouteField = "route";
    private const int ScanPage = 500;

    // The spec's fields in the batch's hash, in the order ToDefinition reads them.
    private static readonly RedisValue[] SpecFields = [PromptField, AnswerField, ModelField, OptionsField, SystemField, FormatField, ChatField, PriorityField, WindowField];

    public QueueKeys Keys { get; } = new(options.Value.Name);

    private IDatabase Db => redis.Database;

    /// <summary>Stores a new batch's definition, unless the batch exists.</summary>
    /// <returns>The definition already stored when the batch existed, else null.</returns>
    public async Task<BatchDefinition?> CreateAsync(string batchId, BatchDefinition definition, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var existing = (RedisResult[])(await Db.ScriptEvaluateAsync(
            QueueScripts.CreateBatch,
            Keys.With(Keys.Batch(batchId), Keys.Batches, Keys.BatchDeadlines),
            _policy.With([batchId, time.GetUtcNow().ToUnixTimeMilliseconds(), .. SpecValues(definition)])).ConfigureAwait(false))!;
        if (existing.Length == 0)
        {
            return null;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < existing.Length; i += 2)
        {
            fields[(string)existing[i]!] = (string)existing[i + 1]!;
        }

        return ToDefinition(SpecFields.Select(f => fields.GetValueOrDefault((string)f!)).ToArray());
    }

    /// <summary>The definition of a batch a client created; null for an unknown batch.</summary>
    public async Task<BatchDefinition?> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var values = await Db.HashGetAsync(Keys.Batch(batchId), ["created", .. SpecFields]).ConfigureAwait(false);
        return values[0].IsNull ? null : ToDefinition(values.Skip(1).Select(v => (string?)v).ToArray());
    }

    /// <summary>Marks the submission complete, so the batch is complete once its items are done.</summary>
    public async Task SealAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.HashSetAsync(Keys.Batch(batchId), SealedField, 1).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds a batch's items, in their envelopes (with their trace context), to its priority class's ready set, where
    /// they take turns with the class's other batches; ids the batch already has are skipped.
    /// </summary>
    /// <returns>How many were new.</returns>
    public async Task<int> AddItemsAsync(string batchId, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var args = new RedisValue[(items.Count * 2) + 1];
        args[0] = batchId;
        for (var i = 0; i < items.Count; i++)
        {
            args[(2 * i) + 1] = items[i].Id;
            args[(2 * i) + 2] = Envelope.Encode(batchId, items[i].Id, items[i].Json, items[i].TraceParent);
        }

        return (int)await Db.ScriptEvaluateAsync(QueueScripts.Enqueue, Keys.With(Keys.BatchItems(batchId)), _policy.With(args)).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops a batch (<c>cancelled</c> or <c>expired</c>) and removes its queued items at once; items in flight finish
    /// and keep their results. Stopping a stopped batch removes what is left and keeps the first reason.
    /// </summary>
    /// <returns>The reason in effect and how many queued items this call removed.</returns>
    public async Task<(string Stopped, long Removed)> StopAsync(string batchId, string why, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stopped = (string)(await Db.ScriptEvaluateAsync(
            QueueScripts.StopBatch, Keys.With(Keys.Batch(batchId)),
            _policy.With(batchId, why, time.GetUtcNow().ToUnixTimeMilliseconds())).ConfigureAwait(false))!;
        return (stopped, await RemoveQueuedAsync(batchId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Removes a stopped batch's queued items: ZSCAN finds its envelopes in its class's ready set (and the parked set) by their prefix, a
    /// page at a time, so Redis is never busy long; the lease script removes any met in the meantime.
    /// </summary>
    private async Task<long> RemoveQueuedAsync(string batchId, CancellationToken cancellationToken)
    {
        var priority = (await GetCountsAsync(batchId, cancellationToken).ConfigureAwait(false)).Priority;
        // Glob: the batch id's characters (letters, digits, '.', '_', '-') match themselves, and '"' ends it.
        var pattern = $"{Envelope.Prefix}{batchId}\",*";
        var removed = 0L;
        foreach (var set in new[] { Keys.ReadyClass(priority), Keys.Parked })
        {
            var page = new List<RedisValue>();
            await foreach (var entry in Db.SortedSetScanAsync(set, pattern, ScanPage).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                page.Add(entry.Element);
                if (page.Count == ScanPage)
                {
                    removed += await RemovePageAsync(batchId, page).ConfigureAwait(false);
                    page.Clear();
                }
            }

            removed += page.Count > 0 ? await RemovePageAsync(batchId, page).ConfigureAwait(false) : 0;
        }

        return removed;
    }

    private async Task<long> RemovePageAsync(string batchId, List<RedisValue> envelopes) =>
        (long)await Db.ScriptEvaluateAsync(QueueScripts.RemoveQueued, Keys.Common, _policy.With([batchId, .. envelopes])).ConfigureAwait(false);

    /// <summary>
    /// Stops every batch whose deadline has passed by <see cref="TimeProvider"/>'s clock as <c>expired</c> and removes
    /// what is still queued of each; a batch that completed in time is left as it is. Safe from any number of silos.
    /// </summary>
    /// <returns>The batches expired and the items removed.</returns>
    public async Task<(int Batches, long Removed)> ExpireDueAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = await Db.SortedSetRangeByScoreAsync(Keys.BatchDeadlines, double.NegativeInfinity, now).ConfigureAwait(false);
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

    /// <summary>
    /// Puts the batch's dead-lettered items back in its class's ready set with fresh attempts, a page of the
    /// dead-letter list at a time; their entries are marked retried and no longer listed.
    /// </summary>
    /// <returns>How many went back, and how many could not (their item was cut short in the dead letter).</returns>
    public async Task<(long Retried, long TooLarge)> RetryDeadAsync(string batchId, CancellationToken cancellationToken)
    {
        const int page = ScanPage;
        long retried = 0, tooLarge = 0, length;
        var first = 0L;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var r = (RedisResult[])(await Db.ScriptEvaluateAsync(
                QueueScripts.RetryDead, Keys.Common,
                _policy.With(batchId, first, page, time.GetUtcNow().ToUnixTimeMilliseconds())).ConfigureAwait(false))!;
            (retried, tooLarge, length) = (retried + (long)r[0], tooLarge + (long)r[1], (long)r[2]);
            first += page;
        }
        while (first < length);

        return (retried, tooLarge);
    }

    /// <summary>The stored result of one item, or null.</summary>
    public async Task<string?> GetResultAsync(string batchId, string itemId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return await Db.HashGetAsync(Keys.Results(batchId), itemId).ConfigureAwait(false);
    }

    public async Task<BatchCounts> GetCountsAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(
            QueueScripts.Progress,
            Keys.With(Keys.Batch(batchId), Keys.BatchItems(batchId), Keys.Results(batchId)),
            _policy.With(batchId)).ConfigureAwait(false))!;
        return new BatchCounts(
            Exists: !string.IsNullOrEmpty((string?)r[0]),
            Sealed: (string?)r[1] == "1",
            Total: (long)r[4],
            InFlight: Math.Max(0, (long)r[2]),
            Done: (long)r[5],
            DeadLettered: (long)r[3])
        {
            Priority = BatchPriorities.TryParse((string?)r[6], out var priority) ? priority : BatchPriority.Normal,
            Stopped = (string?)r[7] is { Length: > 0 } stopped ? stopped : null,
            Removed = (long)r[8],
            Deadline = long.TryParse((string?)r[9], out var deadline) ? DateTimeOffset.FromUnixTimeMilliseconds(deadline) : null,
            WaitingForModel = (string?)r[10] is { Length: > 0 } model ? model : null,
        };
    }

    /// <summary>What Ollama did for the batch so far: tokens and time of every answer, dead-lettered ones included.</summary>
    public async Task<TokenUsage> GetUsageAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var v = await Db.HashGetAsync(Keys.BatchUsage, [$"{batchId}:prompt", $"{batchId}:completion", $"{batchId}:ollama_ms"]).ConfigureAwait(false);
        return new TokenUsage((long?)v[0] ?? 0, (long?)v[1] ?? 0, TimeSpan.FromMilliseconds((long?)v[2] ?? 0));
    }

    /// <summary>Up to <paramref name="count"/> results after the one numbered <paramref name="afterOrdinal"/> (0: from the start).</summary>
    public async Task<StoredResults> GetResultsAsync(string batchId, long afterOrdinal, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(
            QueueScripts.Results,
            Keys.With(Keys.ResultOrder(batchId), Keys.Results(batchId)),
            _policy.With(afterOrdinal, count)).ConfigureAwait(false))!;
        var documents = new List<string>(r.Length / 2);
        long? last = null;
        for (var i = 0; i + 1 < r.Length; i += 2)
        {
            documents.Add((string)r[i]!);
            last = (long)r[i + 1];
        }

        return new StoredResults(documents, last);
    }

    /// <summary>
    /// Up to <paramref name="count"/> entries of the dead-letter list from position <paramref name="start"/> (0: the
    /// oldest), as the Lua scripts wrote them. Entries are only ever appended, so positions stay put while paging.
    /// </summary>
    public async Task<StoredDeadLetters> GetDeadLettersAsync(long start, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var batch = Db.CreateBatch();
        var entries = batch.ListRangeAsync(Keys.DeadLetter, start, start + count - 1);
        var length = batch.ListLengthAsync(Keys.DeadLetter);
        batch.Execute();
        return new StoredDeadLetters(
            (await entries.ConfigureAwait(false)).Select(e => (string)e!).ToArray(),
            await length.ConfigureAwait(false));
    }

    public async Task<QueueCounts> GetQueueCountsAsync(int recentBatches, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var batch = Db.CreateBatch();
        var ready = ReadyAsync(batch);
        var inFlight = batch.HashLengthAsync(Keys.InFlight);
        var dead = batch.ListLengthAsync(Keys.DeadLetter);
        var batches = batch.SortedSetRangeByRankAsync(Keys.Batches, 0, recentBatches - 1, Order.Descending);
        batch.Execute();
        return new QueueCounts(
            Keys.Name,
            await ready.ConfigureAwait(false),
            await inFlight.ConfigureAwait(false),
            await dead.ConfigureAwait(false),
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

    /// <summary>Field, value, ... of a definition, as CreateBatch stores them: an absent value is an empty string.</summary>
    private static RedisValue[] SpecValues(BatchDefinition d) =>
    [
        PromptField, d.PromptTemplate ?? string.Empty,
        AnswerField, d.AnswerField ?? string.Empty,
        ModelField, d.Model ?? string.Empty,
        OptionsField, d.Options is { IsEmpty: false } options ? OllamaOptionsJson.Write(options) : string.Empty,
        SystemField, d.SystemPrompt ?? string.Empty,
        FormatField, d.Format ?? string.Empty,
        ChatField, d.Chat ? "1" : string.Empty,
        PriorityField, BatchPriorities.Name(d.Priority),
        WindowField, d.CompletionWindow is { } window ? (long)window.TotalMilliseconds : string.Empty,
        // Not part of the spec: the model as the queue routes it (CreateBatch notes it for the lease script).
        RouteField, d.Model is { } model ? ModelNames.Key(model) : string.Empty,
    ];

    /// <param name="values">The values of <see cref="SpecFields"/>, in order; null or empty where absent.</param>
    private static BatchDefinition ToDefinition(string?[] values)
    {
        string? Value(int i) => string.IsNullOrEmpty(values[i]) ? null : values[i];
        return new BatchDefinition(
            Value(0),
            Value(1),
            Value(2),
            Value(3) is { } options ? OllamaOptionsJson.Read(options) : null,
            Value(4),
            Value(5),
            Value(6) == "1",
            BatchPriorities.TryParse(Value(7), out var priority) ? priority : BatchPriority.Normal,
            long.TryParse(Value(8), out var window) ? TimeSpan.FromMilliseconds(window) : null);
    }
}
