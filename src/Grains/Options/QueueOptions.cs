using Microsoft.Extensions.Options;

namespace OrleansLlm.Options;

/// <summary>The Redis work queue. Section <c>Queue</c>.</summary>
public sealed class QueueOptions
{
    public const string Section = "Queue";

    /// <summary>Most partitions <see cref="Shards"/> may ask for: a worker polls each when idle.</summary>
    public const int MaxShards = 64;

    /// <summary>Name of the ready list producers RPUSH to; every other key starts with it. Default: <c>cities</c>.</summary>
    public string Name { get; set; } = "cities";

    /// <summary>
    /// How many partitions the queue is split into, each a whole queue under its own hash-tagged name
    /// (<c>{cities:0}</c> … <c>{cities:N-1}</c>, see <c>QueueShards</c>), so that on a Redis Cluster they land on different
    /// slots and masters. 1 keeps the one queue named <see cref="Name"/>, key for key. Default: 1.
    /// </summary>
    public int Shards { get; set; } = 1;

    /// <summary>Attempts an item gets before it is dead-lettered with its last error. Default: 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long a lease lasts unless renewed; the worker renews it every third of this while Ollama works. Default: 60 seconds.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often each silo looks for expired leases (a frozen or killed owner) and hands them back. Default: 2 seconds.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Most expired leases one sweep hands back. Redis runs one script at a time, so a sweep must stay short; what
    /// is left waits for the next sweep. Default: 500.
    /// </summary>
    public int SweepLimit { get; set; } = 500;

    /// <summary>
    /// Wait before a failed item is retried, doubled on each further attempt. The next lease after it takes the item,
    /// so an idle silo retries it within <see cref="WorkerOptions.PollMaxDelay"/> of it. Default: 500 ms.
    /// </summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Upper bound of the retry wait. Default: 30 seconds.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Items larger than this are dead-lettered unread. Default: 64 KiB.</summary>
    public int MaxItemBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// A dead letter keeps at most this much of its item, plus the item's size and SHA-1, so a flood of huge bad
    /// items cannot fill Redis. Default: 4 KiB.
    /// </summary>
    public int DeadLetterMaxPayloadBytes { get; set; } = 4 * 1024;

    /// <summary>
    /// The raw items' dead-letter list keeps this many newest entries (0: all). A batch's dead letters are kept in a
    /// list of its own, bounded by the batch, so no batch can push out another's. Default: 100,000.
    /// </summary>
    public int DeadLetterMaxLength { get; set; } = 100_000;

    /// <summary>
    /// How long everything a batch created (its spec, items, results and dead letters) is kept after the batch ended
    /// (completed, cancelled or expired, with nothing left in flight); raw items' results roll over by day and are kept
    /// this long after their day. <see cref="TimeSpan.Zero"/> keeps them for ever (until <c>orleansllm delete</c>).
    /// Default: 7 days, like the shortest expiry of OpenAI's batch output files.
    /// </summary>
    public TimeSpan ResultTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Above this share of Redis' <c>maxmemory</c>, batches take no new items (<c>queue full</c>), so the running ones
    /// still have room to finish: Redis refuses every write once full, Orleans membership included. Nothing is
    /// refused when Redis has no <c>maxmemory</c>. Default: 0.8.
    /// </summary>
    public double HighWaterMark { get; set; } = 0.8;

    /// <summary>The same options for one partition of the queue, named <paramref name="name"/>.</summary>
    public QueueOptions WithName(string name)
    {
        var copy = (QueueOptions)MemberwiseClone();
        copy.Name = name;
        return copy;
    }

    internal TimeSpan RetryDelay(int failedAttempts)
    {
        var delay = RetryBaseDelay * Math.Pow(2, Math.Min(failedAttempts, 16));
        return delay < RetryMaxDelay ? delay : RetryMaxDelay;
    }
}

public sealed class QueueOptionsValidator : IValidateOptions<QueueOptions>
{
    private const string Section = QueueOptions.Section;

    public ValidateOptionsResult Validate(string? name, QueueOptions o)
    {
        var failures = new List<string>();
        CheckLeasing(o, failures);
        CheckStorage(o, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>How items are named, leased, retried and recovered.</summary>
    private static void CheckLeasing(QueueOptions o, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(o.Name) || o.Name.Any(char.IsWhiteSpace))
        {
            failures.Add($"{Section}:{nameof(o.Name)} must be a non-empty Redis key without spaces, e.g. 'cities'.");
        }

        if (o.Shards is < 1 or > QueueOptions.MaxShards)
        {
            failures.Add($"{Section}:{nameof(o.Shards)} must be 1 to {QueueOptions.MaxShards} (was {o.Shards}).");
        }

        if (o.MaxAttempts < 1)
        {
            failures.Add($"{Section}:{nameof(o.MaxAttempts)} must be at least 1 (was {o.MaxAttempts}).");
        }

        if (o.LeaseDuration < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{Section}:{nameof(o.LeaseDuration)} must be at least 1 second (was {o.LeaseDuration}).");
        }

        if (o.SweepLimit < 1)
        {
            failures.Add($"{Section}:{nameof(o.SweepLimit)} must be at least 1 (was {o.SweepLimit}).");
        }

        if (o.SweepInterval <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:{nameof(o.SweepInterval)} must be positive (was {o.SweepInterval}).");
        }

        if (o.RetryBaseDelay < TimeSpan.Zero || o.RetryMaxDelay < o.RetryBaseDelay)
        {
            failures.Add($"{Section}:{nameof(o.RetryBaseDelay)} must be >= 0 and at most {nameof(o.RetryMaxDelay)}.");
        }
    }

    /// <summary>How much Redis keeps: dead letters, results, items, and its memory.</summary>
    private static void CheckStorage(QueueOptions o, List<string> failures)
    {

        if (o.DeadLetterMaxPayloadBytes < 64)
        {
            failures.Add($"{Section}:{nameof(o.DeadLetterMaxPayloadBytes)} must be at least 64 (was {o.DeadLetterMaxPayloadBytes}).");
        }

        if (o.DeadLetterMaxLength < 0)
        {
            failures.Add($"{Section}:{nameof(o.DeadLetterMaxLength)} must be 0 (keep all) or more (was {o.DeadLetterMaxLength}).");
        }

        if (o.ResultTtl < TimeSpan.Zero || (o.ResultTtl > TimeSpan.Zero && o.ResultTtl < TimeSpan.FromSeconds(1)))
        {
            failures.Add($"{Section}:{nameof(o.ResultTtl)} must be at least 1 second, or 0 to keep results for ever (was {o.ResultTtl}).");
        }

        if (o.HighWaterMark is not (> 0 and <= 1))
        {
            failures.Add($"{Section}:{nameof(o.HighWaterMark)} must be a share of maxmemory above 0 and at most 1, e.g. 0.8 (was {o.HighWaterMark}).");
        }

        if (o.MaxItemBytes < 64)
        {
            failures.Add($"{Section}:{nameof(o.MaxItemBytes)} must be at least 64 (was {o.MaxItemBytes}).");
        }
    }
}
