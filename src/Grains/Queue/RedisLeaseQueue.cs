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
    private readonly QueuePolicy _policy = QueuePolicy.From(options.Value);

    /// <summary>
    /// How long a silo's word that it serves a model holds, renewed at each of its leases. A silo whose slots are all
    /// busy with CPU requests of minutes does not lease meanwhile, so this is long: a model is taken for unserved
    /// (its items parked) only when no silo has leased for it for this long. A model no silo ever served is parked at once.
    /// </summary>
    public static readonly TimeSpan ServedModelsHold = TimeSpan.FromMinutes(5);

    public QueueKeys Keys { get; } = new(options.Value.Name);

    private IDatabase Db => redis.Database;

    /// <summary>
    /// Atomically moves up to <paramref name="max"/> items into leases held by <paramref name="owner"/>: due retries
    /// first, then the next ready items (highest priority class first, the batches of a class taking turns).
    /// </summary>
    public Task<IReadOnlyList<Lease>> LeaseAsync(string owner, int max, CancellationToken cancellationToken) =>
        LeaseAsync(owner, max, served: null, cancellationToken);

    /// <summary>
    /// As <see cref="LeaseAsync(string, int, CancellationToken)"/>, but only items of batches whose model is in
    /// <paramref name="served"/> (model keys, <see cref="Ollama.ModelNames.Key"/>) or that name none; null serves every
    /// model. Noting the models for <see cref="ServedModelsHold"/>, so items of a model no silo serves are parked
    /// (<see cref="QueueKeys.Parked"/>) and come back when one does.
    /// </summary>
    public async Task<IReadOnlyList<Lease>> LeaseAsync(string owner, int max, IReadOnlyCollection<string>? served, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = served is null
            ? [max, (long)_options.LeaseDuration.TotalMilliseconds, owner]
            : [max, (long)_options.LeaseDuration.TotalMilliseconds, owner, (long)ServedModelsHold.TotalMilliseconds, .. served.Select(m => (RedisValue)m)];
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(QueueScripts.Lease, Keys.Common, _policy.With(args)).ConfigureAwait(false))!;
        var leases = new List<Lease>(result.Length / 4);
        for (var i = 0; i + 3 < result.Length; i += 4)
        {
            var mark = (string?)result[i + 3];
            leases.Add(new Lease((string)result[i]!, (string)result[i + 1]!, (int)result[i + 2], string.IsNullOrEmpty(mark) ? null : mark == "1"));
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
        return (int)await Db.ScriptEvaluateAsync(QueueScripts.Renew, Keys.Common, _policy.With(args)).ConfigureAwait(false);
    }

    /// <summary>Writes the item's result and drops its lease in one step, without usage to count. The first result for an item id wins.</summary>
    /// <returns>False when the item already had a result (it was processed twice).</returns>
    public Task<bool> CompleteAsync(Lease lease, string owner, string batchId, string itemId, string resultJson, CancellationToken cancellationToken) =>
        CompleteAsync(lease, owner, batchId, itemId, resultJson, TokenUsage.Zero, cancellationToken);

    /// <summary>
    /// Writes the item's result, adds <paramref name="usage"/> to its batch's (<see cref="QueueKeys.BatchUsage"/>) and
    /// drops its lease in one step. The first result for an item id wins.
    /// </summary>
    /// <returns>False when the item already had a result (it was processed twice).</returns>
    public async Task<bool> CompleteAsync(
        Lease lease, string owner, string batchId, string itemId, string resultJson, TokenUsage usage, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var added = await Db.ScriptEvaluateAsync(
            QueueScripts.Complete,
            Keys.With(Keys.Results(batchId), Keys.ResultOrder(batchId), Keys.BatchItems(batchId), Keys.BatchUsage),
            _policy.With([lease.Id, owner, itemId, resultJson, lease.Payload, .. UsageArguments(usage)])).ConfigureAwait(false);
        return (int)added == 1;
    }

    /// <summary>Drops the lease of an item delivered twice whose result is already stored, counting a duplicate.</summary>
    public async Task DiscardAsync(Lease lease, string owner, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.ScriptEvaluateAsync(QueueScripts.Discard, Keys.Common, _policy.With(lease.Id, owner)).ConfigureAwait(false);
    }

    /// <summary>
    /// The item failed on a healthy backend: counts a failed attempt. After <see cref="QueueOptions.MaxAttempts"/>
    /// the item is dead-lettered with <paramref name="error"/>, else the next lease after <paramref name="retryAfter"/>
    /// takes it again.
    /// </summary>
    public Task<FailOutcome> FailAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken) =>
        FailAsync(QueueScripts.Fail, lease, owner, error, retryAfter, cancellationToken);

    /// <summary>
    /// The owner's backend failed on the item: it goes back to the head of the ready list for another silo, without
    /// spending an attempt, unless it has now failed on two or more silos (then it spends one, as in <see cref="FailAsync"/>).
    /// </summary>
    public Task<FailOutcome> ReportBackendFaultAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken) =>
        FailAsync(QueueScripts.BackendFault, lease, owner, error, retryAfter, cancellationToken);

    /// <summary>Moves a leased item straight to the dead-letter list, e.g. because it is malformed.</summary>
    public async Task DeadLetterAsync(Lease lease, string owner, string reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.ScriptEvaluateAsync(QueueScripts.DeadLetter, Keys.Common, _policy.With(lease.Id, owner, reason)).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves a leased item whose answer is the problem (it broke the batch's schema) to the dead-letter list with the
    /// error and the answer, and adds the answer's <paramref name="usage"/> to its batch's: the tokens were spent.
    /// </summary>
    public async Task DeadLetterAnswerAsync(
        Lease lease, string owner, string reason, string error, string answer, TokenUsage usage, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.ScriptEvaluateAsync(
            QueueScripts.DeadLetter,
            Keys.With(Keys.BatchUsage),
            _policy.With([lease.Id, owner, reason, error, answer, .. UsageArguments(usage)])).ConfigureAwait(false);
    }

    private static RedisValue[] UsageArguments(TokenUsage usage) =>
        [usage.PromptTokens, usage.CompletionTokens, (long)usage.OllamaTime.TotalMilliseconds];

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
        return (int)await Db.ScriptEvaluateAsync(QueueScripts.Release, Keys.Common, _policy.With(args)).ConfigureAwait(false);
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
            QueueScripts.Sweep, Keys.Common, _policy.With(_options.SweepLimit)).ConfigureAwait(false))!;
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
        RedisValue[] args = [reason, .. owners.Select(o => (RedisValue)o)];
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(QueueScripts.Recover, Keys.Common, _policy.With(args)).ConfigureAwait(false))!;
        return ((int)result[0], (int)result[1]);
    }

    private async Task<FailOutcome> FailAsync(string script, Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var outcome = (string?)await Db.ScriptEvaluateAsync(
            script, Keys.Common, _policy.With(lease.Id, owner, error, (long)retryAfter.TotalMilliseconds)).ConfigureAwait(false);
        return outcome switch
        {
            "released" => FailOutcome.Released,
            "retry" => FailOutcome.Retrying,
            "dead" => FailOutcome.DeadLettered,
            _ => FailOutcome.LeaseLost,
        };
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
