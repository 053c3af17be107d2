using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue.Scripts;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The work queue's leases: lease, renew, settle, hand back. Each method is one Lua script (<c>Scripts/</c>), so every
/// change of an item's state is atomic; <c>docs/architecture.md</c> has the table of states and transitions.
/// </summary>
/// <remarks>
/// Every lease has a fresh token and every settle names it, so a settle whose lease went back changes nothing, and the
/// same settle sent twice (its answer lost in a timeout) returns its first outcome and spends nothing twice.
/// </remarks>
public sealed class RedisLeaseQueue(RedisConnection redis, IOptions<QueueOptions> options, QueueClock clock)
{
    private const int RecoverPage = 500;

    /// <summary>The most answers one script call of <see cref="CompleteManyAsync"/> records.</summary>
    public const int CompleteGroupMax = CompleteCall.MaxAnswers;

    private readonly QueueOptions _options = options.Value;
    private readonly ScriptRunner _scripts = new(() => redis.Database, new QueueKeys(options.Value.Name), QueuePolicy.From(options.Value, clock));

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
    /// first, then the next ready items (highest priority class first, the batches of a class taking turns). Only
    /// items of batches whose model is in <paramref name="served"/> (model keys, <see cref="ModelNames.Key"/>)
    /// or that name none; null serves every model. Notes the models for <see cref="ServedModelsHold"/>, so items of a
    /// model no silo serves are parked (<see cref="QueueKeys.Parked"/>) and come back when one does.
    /// </summary>
    public async Task<LeaseResult> LeaseAsync(string owner, int max, IReadOnlyCollection<string>? served, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await _scripts.RunAsync(new LeaseCall(max, _options.LeaseDuration, owner, served, ServedModelsHold)).ConfigureAwait(false))!;
        var leases = new List<Lease>((result.Length - 1) / 4);
        for (var i = 1; i + 3 < result.Length; i += 4)
        {
            var mark = (string?)result[i + 3];
            leases.Add(new Lease((string)result[i]!, (string)result[i + 1]!, (int)result[i + 2], string.IsNullOrEmpty(mark) ? null : mark == "1"));
        }

        return new LeaseResult(leases, (int)result[0] == 1);
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
        return (int)await _scripts.RunAsync(new RenewCall(_options.LeaseDuration, owner, leaseIds)).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the item's result, adds <paramref name="usage"/> to its batch's and drops its lease in one step.
    /// </summary>
    public async Task<CompleteOutcome> CompleteAsync(
        Lease lease, string owner, string itemId, string resultJson, TokenUsage usage, CancellationToken cancellationToken) =>
        (await CompleteManyAsync([new CompleteRequest(lease, owner, itemId, resultJson, usage)], cancellationToken))[0];

    /// <summary>
    /// Records several answers at once (a worker's group commit): each comes to the outcome it would have sent alone,
    /// one after the other in their order, fenced and remembered the same way, while what they share is written once
    /// a call. Up to <see cref="CompleteGroupMax"/> answers go in one call; more take several.
    /// </summary>
    /// <returns>Each answer's outcome, in their order.</returns>
    public async Task<IReadOnlyList<CompleteOutcome>> CompleteManyAsync(IReadOnlyList<CompleteRequest> answers, CancellationToken cancellationToken)
    {
        var outcomes = new List<CompleteOutcome>(answers.Count);
        foreach (var group in answers.Chunk(CompleteGroupMax))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = (RedisResult[])(await _scripts.RunAsync(new CompleteCall(group)).ConfigureAwait(false))!;
            outcomes.AddRange(result.Select(r => (string?)r switch
            {
                "done" => CompleteOutcome.Stored,
                "conflict" => CompleteOutcome.Conflict,
                _ => CompleteOutcome.Late,
            }));
        }

        return outcomes;
    }

    /// <summary>Ends the lease of a raw item delivered twice, whose very result is already stored, counting a duplicate.</summary>
    /// <returns>False when the lease was no longer the owner's.</returns>
    public async Task<bool> DiscardAsync(Lease lease, string owner, TokenUsage usage, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (string?)await _scripts.RunAsync(new DiscardCall(lease.Id, owner, usage)).ConfigureAwait(false) == "discarded";
    }

    /// <summary>
    /// The item failed on a healthy backend: counts a failed attempt. After <see cref="QueueOptions.MaxAttempts"/>
    /// the item is dead-lettered with <paramref name="error"/>, else the next lease after <paramref name="retryAfter"/>
    /// takes it again.
    /// </summary>
    public Task<FailOutcome> FailAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken) =>
        FailAsync(new FailCall(lease.Id, owner, error, retryAfter, BackendsFault: false), cancellationToken);

    /// <summary>
    /// The owner's backend failed on the item: it goes back to the head of where it waits for another silo, without
    /// spending an attempt, unless it has now failed on two or more silos (then it spends one, as in <see cref="FailAsync(Lease, string, string, TimeSpan, CancellationToken)"/>).
    /// </summary>
    public Task<FailOutcome> ReportBackendFaultAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken) =>
        FailAsync(new FailCall(lease.Id, owner, error, retryAfter, BackendsFault: true), cancellationToken);

    /// <summary>Moves a leased item straight to its batch's dead letters, e.g. because it is malformed.</summary>
    /// <returns>False when the lease was no longer the owner's.</returns>
    public Task<bool> DeadLetterAsync(Lease lease, string owner, string reason, TokenUsage usage, CancellationToken cancellationToken) =>
        DeadLetterAsync(new DeadLetterCall(lease.Id, owner, reason, Error: null, Answer: null, usage), cancellationToken);

    /// <summary>
    /// Moves a leased item whose answer is the problem (it broke the batch's schema) to its batch's dead letters with
    /// the error and the answer, and adds the answer's <paramref name="usage"/> to its batch's: the tokens were spent.
    /// </summary>
    public Task<bool> DeadLetterAnswerAsync(
        Lease lease, string owner, string reason, string error, string answer, TokenUsage usage, CancellationToken cancellationToken) =>
        DeadLetterAsync(new DeadLetterCall(lease.Id, owner, reason, error, answer, usage), cancellationToken);

    private async Task<bool> DeadLetterAsync(DeadLetterCall call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (string?)await _scripts.RunAsync(call).ConfigureAwait(false) == "dead";
    }

    /// <summary>
    /// Puts unfinished leased items straight back at the head of where they wait, in their order, without counting
    /// an attempt: when a silo drains, or its backend cannot be reached.
    /// </summary>
    public async Task<int> ReleaseAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken)
    {
        if (leaseIds.Count == 0)
        {
            return 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return (int)await _scripts.RunAsync(new ReleaseCall(owner, leaseIds)).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands back up to <see cref="QueueOptions.SweepLimit"/> leases past their deadline: each item returns to the
    /// head of where it waits with one more failed attempt, or goes to its batch's dead letters. Safe from any number
    /// of silos at once; what is left waits for the next sweep.
    /// </summary>
    public async Task<(int Requeued, int DeadLettered)> RequeueExpiredAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await _scripts.RunAsync(new SweepCall(_options.SweepLimit)).ConfigureAwait(false))!;
        return ((int)result[0], (int)result[1]);
    }

    /// <summary>
    /// Hands back every lease held by <paramref name="owners"/> (silos known to be dead), each as a failed attempt:
    /// a page of the owners hash at a time, so no call grows with the leases in flight.
    /// </summary>
    public async Task<(int Requeued, int DeadLettered)> RecoverOwnersAsync(IReadOnlyCollection<string> owners, string reason, CancellationToken cancellationToken)
    {
        if (owners.Count == 0)
        {
            return (0, 0);
        }

        var dead = owners.ToHashSet(StringComparer.Ordinal);
        var (requeued, buried) = (0, 0);
        var page = new List<(string Token, string Owner)>(RecoverPage);
        async Task FlushAsync()
        {
            var result = (RedisResult[])(await _scripts.RunAsync(new RecoverCall(reason, page)).ConfigureAwait(false))!;
            (requeued, buried) = (requeued + (int)result[0], buried + (int)result[1]);
            page.Clear();
        }

        await foreach (var lease in LeasesHeldByAsync(dead.Contains, cancellationToken).ConfigureAwait(false))
        {
            page.Add(lease);
            if (page.Count == RecoverPage)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }

        if (page.Count > 0)
        {
            await FlushAsync().ConfigureAwait(false);
        }

        return (requeued, buried);
    }

    /// <summary>
    /// The leases Redis says <paramref name="owner"/> holds, read a page of the owners hash at a time: what a worker
    /// compares with the leases it knows of, after a call whose reply it may have missed.
    /// </summary>
    public async Task<IReadOnlyList<string>> LeasesOfAsync(string owner, CancellationToken cancellationToken)
    {
        var leases = new List<string>();
        await foreach (var (token, _) in LeasesHeldByAsync(o => o == owner, cancellationToken).ConfigureAwait(false))
        {
            leases.Add(token);
        }

        return leases;
    }

    /// <summary>The leases of the owners <paramref name="whose"/> picks, read a page of the owners hash at a time.</summary>
    private async IAsyncEnumerable<(string Token, string Owner)> LeasesHeldByAsync(
        Func<string, bool> whose, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in Db.HashScanAsync(Keys.Owners, pageSize: RecoverPage).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var owner = (string)entry.Value!;
            if (whose(owner))
            {
                yield return ((string)entry.Name!, owner);
            }
        }
    }

    private async Task<FailOutcome> FailAsync(FailCall call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var outcome = (string?)await _scripts.RunAsync(call).ConfigureAwait(false);
        return outcome switch
        {
            "released" => FailOutcome.Released,
            "retry" => FailOutcome.Retrying,
            "dead" => FailOutcome.DeadLettered,
            "removed" => FailOutcome.Removed,
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
        return (long?)await Db.HashGetAsync(Keys.Stats, "recovered").ConfigureAwait(false) ?? 0;
    }
}
