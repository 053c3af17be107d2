using OrleansLlm.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The leases of every partition of the queue (<see cref="QueueShards"/>), one <see cref="RedisLeaseQueue"/> each:
/// a lease call starts at the next partition in turn and goes on to the others for what it did not get there; a
/// settle, a renewal or a hand-back goes to the partition its lease id names. With one shard every call is the one
/// queue's own, lease ids included.
/// </summary>
public sealed class ShardedLeaseQueue
{
    private readonly RedisLeaseQueue[] _parts;

    // The partition the next lease call starts at, in turn, so a silo takes from each alike.
    private int _turn = -1;

    public ShardedLeaseQueue(RedisConnection redis, QueueShards shards, QueueClock clock)
    {
        Shards = shards;
        _parts = [.. shards.Partitions.Select(p => new RedisLeaseQueue(redis, Microsoft.Extensions.Options.Options.Create(p), clock))];
    }

    public QueueShards Shards { get; }

    /// <summary>Each partition's queue, in partition order.</summary>
    public IReadOnlyList<RedisLeaseQueue> Partitions => _parts;

    /// <summary>
    /// Leases up to <paramref name="max"/> items (<see cref="RedisLeaseQueue.LeaseAsync"/>): first from the partition
    /// whose turn it is, then from the next ones while it got fewer, so a silo whose turn falls on an empty partition
    /// still finds the work of the others.
    /// </summary>
    public async Task<LeaseResult> LeaseAsync(string owner, int max, IReadOnlyCollection<string>? served, CancellationToken cancellationToken)
    {
        if (_parts.Length == 1)
        {
            return await _parts[0].LeaseAsync(owner, max, served, cancellationToken).ConfigureAwait(false);
        }

        var start = (int)((uint)Interlocked.Increment(ref _turn) % (uint)_parts.Length);
        var leases = new List<Lease>(Math.Max(0, max));
        var more = false;
        for (var i = 0; i < _parts.Length && leases.Count < max; i++)
        {
            var shard = (start + i) % _parts.Length;
            var taken = await _parts[shard].LeaseAsync(owner, max - leases.Count, served, cancellationToken).ConfigureAwait(false);
            leases.AddRange(taken.Leases.Select(l => Shards.Held(shard, l)));
            more |= taken.More;
        }

        return new LeaseResult(leases, more);
    }

    /// <inheritdoc cref="RedisLeaseQueue.RenewAsync"/>
    public Task<int> RenewAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken) =>
        ByPartitionAsync(leaseIds, (part, tokens) => part.RenewAsync(owner, tokens, cancellationToken));

    /// <inheritdoc cref="RedisLeaseQueue.ReleaseAsync"/>
    public Task<int> ReleaseAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken) =>
        ByPartitionAsync(leaseIds, (part, tokens) => part.ReleaseAsync(owner, tokens, cancellationToken));

    /// <inheritdoc cref="RedisLeaseQueue.CompleteAsync"/>
    public Task<CompleteOutcome> CompleteAsync(
        Lease lease, string owner, string itemId, string resultJson, TokenUsage usage, CancellationToken cancellationToken) =>
        OfLease(lease, (part, own) => part.CompleteAsync(own, owner, itemId, resultJson, usage, cancellationToken));

    /// <summary>
    /// Records several answers (<see cref="RedisLeaseQueue.CompleteManyAsync"/>): one call per partition their leases
    /// came from, side by side. Returns each answer's outcome in their order.
    /// </summary>
    public async Task<IReadOnlyList<CompleteOutcome>> CompleteManyAsync(IReadOnlyList<CompleteRequest> answers, CancellationToken cancellationToken)
    {
        if (_parts.Length == 1)
        {
            return await _parts[0].CompleteManyAsync(answers, cancellationToken).ConfigureAwait(false);
        }

        var byShard = answers
            .Select((answer, index) => (Index: index, Issued: Shards.Issued(answer.Lease), Answer: answer))
            .GroupBy(a => a.Issued.Shard)
            .ToArray();
        var outcomes = new CompleteOutcome[answers.Count];
        await Task.WhenAll(byShard.Select(async group =>
        {
            var own = group.Select(a => a.Answer with { Lease = a.Issued.Lease }).ToArray();
            var settled = await _parts[group.Key].CompleteManyAsync(own, cancellationToken).ConfigureAwait(false);
            foreach (var (answer, outcome) in group.Zip(settled))
            {
                outcomes[answer.Index] = outcome;
            }
        })).ConfigureAwait(false);
        return outcomes;
    }

    /// <inheritdoc cref="RedisLeaseQueue.DiscardAsync"/>
    public Task<bool> DiscardAsync(Lease lease, string owner, TokenUsage usage, CancellationToken cancellationToken) =>
        OfLease(lease, (part, own) => part.DiscardAsync(own, owner, usage, cancellationToken));

    /// <inheritdoc cref="RedisLeaseQueue.FailAsync(Lease, string, string, TimeSpan, CancellationToken)"/>
    public Task<FailOutcome> FailAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken) =>
        OfLease(lease, (part, own) => part.FailAsync(own, owner, error, retryAfter, cancellationToken));

    /// <inheritdoc cref="RedisLeaseQueue.ReportBackendFaultAsync"/>
    public Task<FailOutcome> ReportBackendFaultAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken) =>
        OfLease(lease, (part, own) => part.ReportBackendFaultAsync(own, owner, error, retryAfter, cancellationToken));

    /// <inheritdoc cref="RedisLeaseQueue.DeadLetterAsync(Lease, string, string, TokenUsage, CancellationToken)"/>
    public Task<bool> DeadLetterAsync(Lease lease, string owner, string reason, TokenUsage usage, CancellationToken cancellationToken) =>
        OfLease(lease, (part, own) => part.DeadLetterAsync(own, owner, reason, usage, cancellationToken));

    /// <inheritdoc cref="RedisLeaseQueue.DeadLetterAnswerAsync"/>
    public Task<bool> DeadLetterAnswerAsync(
        Lease lease, string owner, string reason, string error, string answer, TokenUsage usage, CancellationToken cancellationToken) =>
        OfLease(lease, (part, own) => part.DeadLetterAnswerAsync(own, owner, reason, error, answer, usage, cancellationToken));

    /// <summary>Sweeps every partition's expired leases (<see cref="RedisLeaseQueue.RequeueExpiredAsync"/>), at most a sweep's limit each.</summary>
    public async Task<(int Requeued, int DeadLettered)> RequeueExpiredAsync(CancellationToken cancellationToken)
    {
        var swept = await Task.WhenAll(_parts.Select(p => p.RequeueExpiredAsync(cancellationToken))).ConfigureAwait(false);
        return (swept.Sum(s => s.Requeued), swept.Sum(s => s.DeadLettered));
    }

    /// <summary>Hands back every lease of <paramref name="owners"/> in every partition (<see cref="RedisLeaseQueue.RecoverOwnersAsync"/>).</summary>
    public async Task<(int Requeued, int DeadLettered)> RecoverOwnersAsync(IReadOnlyCollection<string> owners, string reason, CancellationToken cancellationToken)
    {
        var recovered = await Task.WhenAll(_parts.Select(p => p.RecoverOwnersAsync(owners, reason, cancellationToken))).ConfigureAwait(false);
        return (recovered.Sum(s => s.Requeued), recovered.Sum(s => s.DeadLettered));
    }

    /// <summary>The leases <paramref name="owner"/> holds in every partition, by the ids the worker holds them by (<see cref="RedisLeaseQueue.LeasesOfAsync"/>).</summary>
    public async Task<IReadOnlyList<string>> LeasesOfAsync(string owner, CancellationToken cancellationToken)
    {
        var parts = await Task.WhenAll(_parts.Select(p => p.LeasesOfAsync(owner, cancellationToken))).ConfigureAwait(false);
        return parts.SelectMany((tokens, shard) => tokens.Select(token => Shards.LeaseId(shard, token))).ToArray();
    }

    /// <summary>How many leases each owner holds right now, over every partition.</summary>
    public async Task<Dictionary<string, long>> LeasesByOwnerAsync(CancellationToken cancellationToken)
    {
        var parts = await Task.WhenAll(_parts.Select(p => p.LeasesByOwnerAsync(cancellationToken))).ConfigureAwait(false);
        return parts.SelectMany(p => p).GroupBy(e => e.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(e => e.Value), StringComparer.Ordinal);
    }

    /// <summary>Leases handed back by recovery since the queue began, over every partition.</summary>
    public async Task<long> RecoveredAsync(CancellationToken cancellationToken) =>
        (await Task.WhenAll(_parts.Select(p => p.RecoveredAsync(cancellationToken))).ConfigureAwait(false)).Sum();

    private Task<T> OfLease<T>(Lease held, Func<RedisLeaseQueue, Lease, Task<T>> settle)
    {
        var (shard, lease) = Shards.Issued(held);
        return settle(_parts[shard], lease);
    }

    private async Task<int> ByPartitionAsync(IReadOnlyCollection<string> leaseIds, Func<RedisLeaseQueue, IReadOnlyCollection<string>, Task<int>> call)
    {
        if (_parts.Length == 1)
        {
            return await call(_parts[0], leaseIds).ConfigureAwait(false);
        }

        // In the order held: a release puts items back at the head in that order, partition by partition.
        var byShard = leaseIds.Select(Shards.ParseLeaseId).GroupBy(l => l.Shard, l => l.Token);
        return (await Task.WhenAll(byShard.Select(g => call(_parts[g.Key], g.ToArray()))).ConfigureAwait(false)).Sum();
    }
}
