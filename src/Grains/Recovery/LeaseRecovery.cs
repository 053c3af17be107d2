using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;

namespace OrleansLlm.Recovery;

/// <summary>
/// Hands orphaned work back on every silo: the leases of silos that membership declares dead, at once, and leases
/// past their deadline (a frozen or killed owner), every <see cref="QueueOptions.SweepInterval"/>; on the same beat it
/// expires what is still queued of batches past their deadline (<c>submit --deadline</c>), and forgets the batches
/// whose keys expired (<see cref="QueueOptions.ResultTtl"/> after they ended).
/// </summary>
/// <remarks>
/// Every silo runs it, so recovery never waits for a particular silo: when the silo that hosts the coordinator dies,
/// the others still see membership declare it dead and hand its leases back within the same update. The scripts
/// are atomic and idempotent, so silos recovering the same leases at once hand each back exactly once.
/// </remarks>
public sealed partial class LeaseRecovery(
    ShardedLeaseQueue queue,
    ShardedBatchStore batches,
    IClusterMembershipService membership,
    IOptions<QueueOptions> options,
    TimeProvider time,
    ILogger<LeaseRecovery> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private const string DeadSiloReason = "silo declared dead";

    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;
    private Task _sweep = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(LeaseRecovery), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _watch = WatchMembershipAsync(_stop.Token);
        _sweep = SweepAsync(_stop.Token);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _stop.Cancel();
        await Task.WhenAll(_watch, _sweep);
        _stop.Dispose();
    }

    private async Task WatchMembershipAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
            {
                await RecoverDeadAsync(snapshot, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The sweep still recovers dead silos' leases, so one broken watch loses no work.
            LogWatchFailed(logger, ex);
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await RecoverDeadAsync(membership.CurrentSnapshot, cancellationToken);
                try
                {
                    var (requeued, dead) = await queue.RequeueExpiredAsync(cancellationToken);
                    if (requeued + dead > 0)
                    {
                        LogExpired(logger, requeued, dead);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex);
                }

                await ExpireBatchesAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ExpireBatchesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (expired, removed) = await batches.ExpireDueAsync(cancellationToken);
            if (expired > 0)
            {
                LogBatchesExpired(logger, expired, removed);
            }

            if (await batches.PurgeAsync(cancellationToken) is > 0 and var purged)
            {
                LogBatchesPurged(logger, purged);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSweepFailed(logger, ex);
        }
    }

    private async Task RecoverDeadAsync(ClusterMembershipSnapshot snapshot, CancellationToken cancellationToken)
    {
        var dead = snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Dead)
            .Select(m => m.SiloAddress.ToParsableString())
            .ToArray();
        try
        {
            var (requeued, buried) = await queue.RecoverOwnersAsync(dead, DeadSiloReason, cancellationToken);
            if (requeued + buried > 0)
            {
                LogRecovered(logger, requeued, buried);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSweepFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handed back the leases of silos declared dead: {Requeued} items back in the queue, {DeadLettered} dead-lettered")]
    private static partial void LogRecovered(ILogger logger, int requeued, int deadLettered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expired leases: {Requeued} items back in the queue, {DeadLettered} dead-lettered")]
    private static partial void LogExpired(ILogger logger, int requeued, int deadLettered);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batches past their deadline: {Batches} expired, {Removed} queued items removed")]
    private static partial void LogBatchesExpired(ILogger logger, int batches, long removed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batches past their retention (Queue:ResultTtl after they ended) forgotten: {Batches}")]
    private static partial void LogBatchesPurged(ILogger logger, int batches);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovering leases failed; tried again on the next sweep")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Watching cluster membership failed; the sweep still recovers dead silos' leases")]
    private static partial void LogWatchFailed(ILogger logger, Exception ex);
}
