using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Inference;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>
/// The worker's side of the queue: it leases items for the models this silo's Ollama serves, renews and hands back
/// the leases it holds, and records what came of each item (<see cref="RecordAsync"/>: every outcome, in one place;
/// answers through a group commit, <see cref="CompleteBatcher"/>), retrying while Redis is briefly away, and counting
/// each in <see cref="WorkerStatistics"/>.
/// </summary>
public sealed partial class WorkerQueue(
    ShardedLeaseQueue queue,
    ServedModels served,
    ItemProcessor processor,
    WorkerStatistics statistics,
    IOptions<QueueOptions> options,
    TimeProvider time,
    ILogger<WorkerQueue> logger)
{
    // Recording an answered item is retried while Redis is away (a restart, a failover); past this the lease is left
    // to expire, and the item is computed again elsewhere rather than waiting for ever.
    private static readonly TimeSpan RetryFirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RetryMaxBackoff = TimeSpan.FromSeconds(5);

    // Leases handed back per call when releasing the ones the worker does not know of.
    private const int ReleaseChunk = 64;

    private readonly QueueOptions _options = options.Value;
    private readonly CompleteBatcher _completes = new(queue.CompleteManyAsync, time);

    /// <summary>How often the leases held are renewed: three times a lease, so one missed renewal costs nothing.</summary>
    public TimeSpan RenewEvery => _options.LeaseDuration / 3;

    /// <summary>The log scope of one attempt at a leased item.</summary>
    public ItemScope ScopeOf(Lease lease, string owner) => new(lease, owner, _options.MaxItemBytes);

    /// <summary>Leases up to <paramref name="max"/> items, only of models this silo's Ollama has; those of a model no silo has wait, parked.</summary>
    public async Task<LeaseResult> LeaseAsync(string owner, int max, CancellationToken cancellationToken) =>
        await queue.LeaseAsync(owner, max, await served.GetAsync(cancellationToken), cancellationToken);

    public Task<int> RenewAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken) =>
        queue.RenewAsync(owner, leaseIds, cancellationToken);

    /// <summary>Hands unfinished items back (a drain), first in their turn.</summary>
    public async Task<int> ReleaseAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken)
    {
        var released = await queue.ReleaseAsync(owner, leaseIds, cancellationToken);
        statistics.Released(released);
        return released;
    }

    /// <summary>
    /// Hands back, no attempt spent, the leases Redis says <paramref name="owner"/> holds that are not in
    /// <paramref name="held"/>: leases whose lease call ran in Redis but whose reply never came (Redis went away
    /// in between), or that the worker gave up recording or handing back while Redis was away. Without this they wait
    /// out their lease duration, and their items spend an attempt. Only call it while no lease call is under way.
    /// </summary>
    public async Task<int> ReleaseUnknownAsync(string owner, IReadOnlySet<string> held, CancellationToken cancellationToken)
    {
        var unknown = (await queue.LeasesOfAsync(owner, cancellationToken)).Where(id => !held.Contains(id)).ToArray();
        var released = 0;
        // A worker's limit at a time, as the release script expects.
        foreach (var chunk in unknown.Chunk(ReleaseChunk))
        {
            released += await ReleaseAsync(owner, chunk, cancellationToken);
        }

        return released;
    }

    /// <summary>Every outcome of an item is recorded here, and only here.</summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis stayed away for a whole lease: the lease expires and the item is retried.</exception>
    public async Task RecordAsync(Lease lease, string owner, ItemOutcome outcome, CancellationToken cancellationToken)
    {
        switch (outcome)
        {
            case ItemOutcome.Answered answered:
                await RecordAnswerAsync(lease, owner, answered, cancellationToken);
                break;

            case ItemOutcome.Failed failed:
                Count(lease, failed.Failure!.Value, failed.RetryAfter, await WriteAsync(OrleansLlmActivities.FailName,
                    () => queue.FailAsync(lease, owner, failed.Error, failed.RetryAfter, cancellationToken)));
                break;

            case ItemOutcome.BackendFault fault:
                // The backend is broken: the item goes back for another silo without spending an attempt.
                Count(lease, fault.Failure!.Value, fault.RetryAfter, await WriteAsync(OrleansLlmActivities.ReleaseName,
                    () => queue.ReportBackendFaultAsync(lease, owner, fault.Error, fault.RetryAfter, cancellationToken)));
                break;

            case ItemOutcome.Malformed malformed:
                await DeadLetterAsync(lease, malformed.Failure!.Value,
                    () => queue.DeadLetterAsync(lease, owner, $"malformed item: {malformed.Error}", TokenUsage.Zero, cancellationToken));
                break;

            case ItemOutcome.DuplicateId duplicate:
                await DeadLetterAsync(lease, duplicate.Failure!.Value,
                    () => queue.DeadLetterAsync(lease, owner, duplicate.Error, duplicate.Usage, cancellationToken));
                break;

            case ItemOutcome.InvalidAnswer invalid:
                await DeadLetterAsync(lease, invalid.Failure!.Value, () => queue.DeadLetterAnswerAsync(
                    lease, owner, "answer does not match the batch's format", invalid.Error, invalid.Answer, invalid.Usage, cancellationToken));
                break;

            case ItemOutcome.AlreadyDone done:
                await WriteAsync(OrleansLlmActivities.CompleteName, () => queue.DiscardAsync(lease, owner, done.Usage, cancellationToken));
                LogAlreadyDone(logger, done.ItemId, lease.Id);
                break;
        }
    }

    private async Task RecordAnswerAsync(Lease lease, string owner, ItemOutcome.Answered answered, CancellationToken cancellationToken)
    {
        var stored = await WriteAsync(OrleansLlmActivities.CompleteName,
            () => _completes.CompleteAsync(new CompleteRequest(lease, owner, answered.ItemId, answered.Result, answered.Usage), cancellationToken));
        switch (stored)
        {
            case CompleteOutcome.Conflict:
                // A raw item whose id has a result already: discarded when that result is this very item's, else
                // dead-lettered as a duplicate id, so both are kept.
                await RecordAsync(lease, owner, await processor.RepeatedIdAsync(lease, answered.Usage, cancellationToken), cancellationToken);
                break;
            case CompleteOutcome.Late:
                // Its lease had gone back and the item ended elsewhere first: nothing was stored, nothing is lost.
                statistics.Late();
                LogLate(logger, answered.ItemId, answered.BatchId, lease.Id);
                break;
            default:
                statistics.Completed(answered.Generation.QueueWait);
                LogCompleted(logger, answered.ItemId, answered.BatchId, lease.Id);
                break;
        }
    }

    private async Task DeadLetterAsync(Lease lease, ItemFailure failure, Func<Task<bool>> write)
    {
        await WriteAsync(OrleansLlmActivities.DeadLetterName, write);
        statistics.DeadLettered(failure.Reason);
        LogDeadLettered(logger, lease.Id, failure.Error);
    }

    /// <summary>Counts a failed attempt by what became of its item.</summary>
    private void Count(Lease lease, ItemFailure failure, TimeSpan retryAfter, FailOutcome fate)
    {
        statistics.Failed(failure.Reason, retried: fate == FailOutcome.Retrying);
        switch (fate)
        {
            case FailOutcome.DeadLettered:
                statistics.DeadLettered(FailureReasons.MaxAttempts);
                LogDeadLettered(logger, lease.Id, $"failed {lease.FailedAttempts + 1} attempts: {failure.Error}");
                break;
            case FailOutcome.Retrying:
                LogFailed(logger, lease.Id, lease.FailedAttempts + 1, retryAfter, failure.Error);
                break;
            case FailOutcome.Released:
                LogBackendFault(logger, lease.Id, failure.Error);
                break;
            case FailOutcome.Removed:
                LogRemoved(logger, lease.Id, failure.Error);
                break;
        }
    }

    /// <summary>
    /// Writes an outcome to Redis in a span of its own, until it succeeds, backing off, for at most one lease
    /// duration: the lease is renewed meanwhile, so a short Redis outage costs a wait, not the item's Ollama call.
    /// </summary>
    private async Task<T> WriteAsync<T>(string spanName, Func<Task<T>> write)
    {
        using var span = OrleansLlmActivities.StartSettle(spanName);
        var deadline = time.GetUtcNow() + _options.LeaseDuration;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException && time.GetUtcNow() < deadline)
            {
                var delay = TimeSpan.FromTicks(Math.Min(RetryMaxBackoff.Ticks, RetryFirstBackoff.Ticks << Math.Min(attempt - 1, 16)));
                LogRetry(logger, attempt, delay, ex.Message);
                await Task.Delay(delay, time);
            }
        }
    }
}
