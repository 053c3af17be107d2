using StackExchange.Redis;

namespace OrleansLlm.Queue;

// Batch bookkeeping: the spec, the seal flag and the figures a batch reports, all read from Redis.
public sealed partial class RedisWorkQueue
{
    private const string SpecPrompt = "prompt";
    private const string SpecField = "field";
    private const string CreatedField = "created";
    private const string SealedField = "sealed";

    /// <summary>Stores a new batch's spec.</summary>
    /// <returns>The spec already stored when the batch existed, else null.</returns>
    public async Task<BatchSpec?> CreateBatchAsync(string batchId, BatchSpec spec, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (await GetBatchSpecAsync(batchId, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var tx = Db.CreateTransaction();
        _ = tx.HashSetAsync(Keys.Batch(batchId),
        [
            new(CreatedField, now),
            new(SpecPrompt, spec.PromptTemplate ?? string.Empty),
            new(SpecField, spec.AnswerField ?? string.Empty),
        ]);
        _ = tx.SortedSetAddAsync(Keys.Batches, batchId, now);
        await tx.ExecuteAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>The spec of a batch created by a client; null for an unknown batch.</summary>
    public async Task<BatchSpec?> GetBatchSpecAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var values = await Db.HashGetAsync(Keys.Batch(batchId), [CreatedField, SpecPrompt, SpecField]).ConfigureAwait(false);
        if (values[0].IsNull)
        {
            return null;
        }

        return new BatchSpec(NullIfEmpty(values[1]), NullIfEmpty(values[2]));

        static string? NullIfEmpty(RedisValue v) => v.IsNullOrEmpty ? null : (string?)v;
    }

    public async Task SealBatchAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.HashSetAsync(Keys.Batch(batchId), SealedField, 1).ConfigureAwait(false);
    }

    private const string ProgressScript = """
        local h = redis.call('HMGET', KEYS[1], 'created', 'sealed', 'inflight', 'dead')
        return {h[1] or '', h[2] or '0', h[3] or '0', h[4] or '0', redis.call('SCARD', KEYS[2]), redis.call('HLEN', KEYS[3])}
        """;

    /// <summary>A consistent snapshot of a batch's figures.</summary>
    public async Task<BatchProgress> GetProgressAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(
            ProgressScript, [Keys.Batch(batchId), Keys.BatchIds(batchId), Keys.Results(batchId)]).ConfigureAwait(false))!;
        var exists = !string.IsNullOrEmpty((string?)r[0]);
        var inFlight = Math.Max(0, (long)r[2]);
        var dead = (long)r[3];
        var done = (long)r[5];
        if (batchId == BatchIds.Default)
        {
            // Raw items come from outside the cluster, so there is no known total.
            return new BatchProgress(batchId, Exists: true, Total: null, Queued: null, inFlight, done, dead, Sealed: false);
        }

        var total = (long)r[4];
        var queued = Math.Max(0, total - done - dead - inFlight);
        return new BatchProgress(batchId, exists, total, queued, inFlight, done, dead, Sealed: (string?)r[1] == "1");
    }

    /// <summary>One page of a batch's results, walked with HSCAN so a 45k-result batch never travels in one message.</summary>
    public async Task<ResultPage> GetResultsAsync(string batchId, string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reply = (RedisResult[])(await Db.ExecuteAsync(
            "HSCAN", Keys.Results(batchId), cursor ?? "0", "COUNT", Math.Clamp(pageSize, 1, 10_000)).ConfigureAwait(false))!;
        var next = (string)reply[0]!;
        var pairs = (RedisResult[])reply[1]!;
        var results = new List<string>(pairs.Length / 2);
        for (var i = 1; i < pairs.Length; i += 2)
        {
            results.Add((string)pairs[i]!);
        }

        return new ResultPage(results, next == "0" ? null : next);
    }

    public async Task<QueueOverview> GetOverviewAsync(int recentBatches, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var batch = Db.CreateBatch();
        var ready = batch.ListLengthAsync(Keys.Ready);
        var inFlight = batch.HashLengthAsync(Keys.InFlight);
        var dead = batch.ListLengthAsync(Keys.DeadLetter);
        var batches = batch.SortedSetRangeByRankAsync(Keys.Batches, 0, recentBatches - 1, Order.Descending);
        batch.Execute();
        return new QueueOverview(
            Keys.Name,
            await ready.ConfigureAwait(false),
            await inFlight.ConfigureAwait(false),
            await dead.ConfigureAwait(false),
            (await batches.ConfigureAwait(false)).Select(v => (string)v!).ToArray());
    }
}
