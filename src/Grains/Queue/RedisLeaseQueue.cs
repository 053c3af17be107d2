using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The work queue in Redis: a ready list and leases with deadlines. Each method is one Lua script
/// (<see cref="QueueScripts"/>), so every change of an item's state is atomic.
/// </summary>
/// <remarks>
/// An item is always in exactly one place: the ready list, in flight under a lease (held by an owner, or waiting
/// for its retry), its batch's results, or the dead-letter list.
/// </remarks>
public sealed class RedisLeaseQueue(RedisConnection redis, IOptions<QueueOptions> options)
{
    private readonly QueueOptions _options = options.Value;

    public QueueKeys Keys { get; } = new(options.Value.Name);

    private IDatabase Db => redis.Database;

    /// <summary>Atomically moves up to <paramref name="max"/> items into leases held by <paramref name="owner"/>: due retries first, then the head of the ready list.</summary>
    public async Task<IReadOnlyList<Lease>> LeaseAsync(string owner, int max, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            QueueScripts.Lease, Keys.Common, [max, (long)_options.LeaseDuration.TotalMilliseconds, owner]).ConfigureAwait(false))!;
        var leases = new List<Lease>(result.Length / 3);
        for (var i = 0; i + 2 < result.Length; i += 3)
        {
            leases.Add(new Lease((string)result[i]!, (string)result[i + 1]!, (int)result[i + 2]));
        }

        return leases;
    }

    /// <summary>Pushes back the deadline of the leases <paramref name="owner"/> still holds.</summary>
    /// <returns>How many of them it still held.</returns>
    public async Task<int> RenewAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken)
    {
        if (leaseIds.Count == 0)
        {
            return 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [(long)_options.LeaseDuration.TotalMilliseconds, owner, .. leaseIds.Select(id => (RedisValue)id)];
        return (int)await Db.ScriptEvaluateAsync(QueueScripts.Renew, Keys.Common, args).ConfigureAwait(false);
    }

    /// <summary>Writes the item's result and drops its lease in one step. The first result for an item id wins.</summary>
    /// <returns>False when the item already had a result (it was processed twice).</returns>
    public async Task<bool> CompleteAsync(Lease lease, string batchId, string itemId, string resultJson, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var added = await Db.ScriptEvaluateAsync(
            QueueScripts.Complete,
            Keys.With(Keys.Results(batchId), Keys.ResultOrder(batchId), Keys.BatchItems(batchId)),
            [lease.Id, itemId, resultJson, lease.Payload]).ConfigureAwait(false);
        return (int)added == 1;
    }

    /// <summary>
    /// Counts a failed attempt: after <see cref="QueueOptions.MaxAttempts"/> the item is dead-lettered with
    /// <paramref name="error"/>, else the next lease after <paramref name="retryAfter"/> takes it again.
    /// </summary>
    public async Task<FailOutcome> FailAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var outcome = (string?)await Db.ScriptEvaluateAsync(
            QueueScripts.Fail, Keys.Common,
            [lease.Id, owner, error, (long)retryAfter.TotalMilliseconds, _options.MaxAttempts]).ConfigureAwait(false);
        return outcome switch
        {
            "retry" => FailOutcome.Retrying,
            "dead" => FailOutcome.DeadLettered,
            _ => FailOutcome.LeaseLost,
        };
    }

    /// <summary>Moves a leased item straight to the dead-letter list, e.g. because it is malformed.</summary>
    public async Task DeadLetterAsync(Lease lease, string owner, string reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.ScriptEvaluateAsync(QueueScripts.DeadLetter, Keys.Common, [lease.Id, owner, reason]).ConfigureAwait(false);
    }

    /// <summary>
    /// Puts unfinished leased items straight back at the head of the ready list, in their order, without counting
    /// an attempt: when a silo drains, or its Ollama cannot be reached.
    /// </summary>
    public async Task<int> ReleaseAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken)
    {
        if (leaseIds.Count == 0)
        {
            return 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [owner, .. leaseIds.Select(id => (RedisValue)id)];
        return (int)await Db.ScriptEvaluateAsync(QueueScripts.Release, Keys.Common, args).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands back up to <see cref="QueueOptions.SweepLimit"/> leases past their deadline: each item returns to the
    /// head of the ready list with one more failed attempt, or goes to the dead-letter list. Safe from any number of
    /// silos at once.
    /// </summary>
    public async Task<(int Requeued, int DeadLettered)> RequeueExpiredAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            QueueScripts.Sweep, Keys.Common, [_options.SweepLimit, _options.MaxAttempts]).ConfigureAwait(false))!;
        return ((int)result[0], (int)result[1]);
    }

    /// <summary>Hands back at once every lease held by <paramref name="owners"/> (silos known to be dead), each as a failed attempt.</summary>
    public async Task<(int Requeued, int DeadLettered)> RecoverOwnersAsync(IReadOnlyCollection<string> owners, string reason, CancellationToken cancellationToken)
    {
        if (owners.Count == 0)
        {
            return (0, 0);
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [reason, _options.MaxAttempts, .. owners.Select(o => (RedisValue)o)];
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(QueueScripts.Recover, Keys.Common, args).ConfigureAwait(false))!;
        return ((int)result[0], (int)result[1]);
    }

    /// <summary>How many leases each owner holds right now.</summary>
    public async Task<Dictionary<string, long>> LeasesByOwnerAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var owners = await Db.HashValuesAsync(Keys.Owners).ConfigureAwait(false);
        return owners.GroupBy(o => (string)o!).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
    }

    /// <summary>Leases handed back by recovery since the queue began.</summary>
    public async Task<long> RecoveredAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (long?)await Db.StringGetAsync(Keys.Recovered).ConfigureAwait(false) ?? 0;
    }
}
