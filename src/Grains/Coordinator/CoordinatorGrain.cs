using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansLlm.Options;
using OrleansLlm.Queue;

namespace OrleansLlm.Coordinator;

/// <summary>
/// One per cluster. Tracks every worker from its heartbeats, and recovers orphaned work: leases of silos that
/// membership declares dead go back at once, and leases past their deadline (a frozen process) on every sweep.
/// </summary>
/// <remarks>
/// Nothing here must survive a crash: the workers' next heartbeats rebuild the table, Redis holds the queue, and
/// a fresh activation starts by recovering the leases of every silo already dead.
/// </remarks>
[Reentrant]
public sealed partial class CoordinatorGrain(
    RedisWorkQueue queue,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    IOptions<QueueOptions> queueOptions,
    TimeProvider time,
    ILogger<CoordinatorGrain> logger) : Grain, ICoordinatorGrain
{
    // Forget workers that stopped reporting long ago (their silo is gone and membership forgot it too).
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, WorkerRecord> _workers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _deactivating = new();
    private Task _watch = Task.CompletedTask;
    private long _recovered;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var sweep = queueOptions.Value.SweepInterval;
        this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(sweep, sweep) { Interleave = true, KeepAlive = true });
        _watch = WatchMembershipAsync(_deactivating.Token);
        LogActivated(logger, localSilo.SiloAddress.ToString());
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating.Cancel();
        await _watch;
    }

    public Task ReportAsync(WorkerStatus status)
    {
        var now = time.GetUtcNow();
        if (!_workers.TryGetValue(status.Silo, out var record))
        {
            LogWorkerJoined(logger, status.Silo, status.ConcurrencyLimit);
        }
        else if (record.Status.State != status.State)
        {
            LogWorkerState(logger, status.Silo, status.State, status.InFlight);
        }

        _workers[status.Silo] = WorkerRecord.Next(record, status, now);
        return Task.CompletedTask;
    }

    public async Task<ClusterView> GetClusterAsync()
    {
        var snapshot = membership.CurrentSnapshot;
        var leases = await queue.LeasesByOwnerAsync(CancellationToken.None);
        var now = time.GetUtcNow();
        foreach (var stale in _workers.Where(w => now - w.Value.LastReport > ForgetAfter).Select(w => w.Key).ToArray())
        {
            _workers.Remove(stale);
        }

        var workers = _workers.Values
            .OrderBy(w => w.Status.Silo, StringComparer.Ordinal)
            .Select(w => new WorkerView(
                w.Status,
                MembershipOf(snapshot, w.Status.Silo),
                w.Throughput,
                w.LastReport,
                leases.GetValueOrDefault(w.Status.Silo)))
            .ToArray();
        var overview = await queue.GetOverviewAsync(recentBatches: 10, CancellationToken.None);
        return new ClusterView(workers, overview, localSilo.SiloAddress.ToParsableString(), _recovered);
    }

    public async Task<string> DrainAsync(string silo)
    {
        var matches = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString())
            .Where(a => a.Contains(silo, StringComparison.Ordinal))
            .ToArray();
        var target = matches switch
        {
            [var one] => one,
            [] => throw new ArgumentException($"No active silo matches '{silo}'."),
            _ => throw new ArgumentException($"'{silo}' matches {matches.Length} silos ({string.Join(", ", matches)}); be more specific."),
        };
        await GrainFactory.GetGrain<IWorkerGrain>(target).DrainAsync(timeout: null);
        return target;
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
            // The sweep timer still recovers dead silos' leases, so one broken watch loses no work.
            LogWatchFailed(logger, ex);
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RecoverDeadAsync(membership.CurrentSnapshot, cancellationToken);
            var (requeued, dead) = await queue.RequeueExpiredAsync(cancellationToken);
            if (requeued + dead > 0)
            {
                _recovered += requeued + dead;
                LogExpired(logger, requeued, dead);
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
        var recovered = await queue.RecoverOwnersAsync(dead, "silo declared dead", cancellationToken);
        if (recovered > 0)
        {
            _recovered += recovered;
            LogRecovered(logger, recovered);
        }
    }

    private static string MembershipOf(ClusterMembershipSnapshot snapshot, string silo) =>
        snapshot.Members.Values.FirstOrDefault(m => m.SiloAddress.ToParsableString() == silo)?.Status.ToString() ?? "Unknown";

    /// <summary>A worker's last report, and its throughput from the two last reports.</summary>
    private sealed record WorkerRecord(WorkerStatus Status, DateTimeOffset LastReport, double Throughput)
    {
        public static WorkerRecord Next(WorkerRecord? previous, WorkerStatus status, DateTimeOffset now)
        {
            var throughput = 0.0;
            if (previous is not null && now > previous.LastReport && status.Completed >= previous.Status.Completed)
            {
                var current = (status.Completed - previous.Status.Completed) / (now - previous.LastReport).TotalSeconds;
                throughput = previous.Throughput == 0 ? current : (0.5 * current) + (0.5 * previous.Throughput);
            }

            return new WorkerRecord(status, now, throughput);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator activated on silo {Silo}")]
    private static partial void LogActivated(ILogger logger, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Silo} joined with concurrency {Limit}")]
    private static partial void LogWorkerJoined(ILogger logger, string silo, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Silo} is {State} with {InFlight} in flight")]
    private static partial void LogWorkerState(ILogger logger, string silo, WorkerState state, int inFlight);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handed back {Count} leases of silos declared dead")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expired leases: {Requeued} items back in the ready list, {DeadLettered} dead-lettered")]
    private static partial void LogExpired(ILogger logger, int requeued, int deadLettered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping expired leases failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Watching cluster membership failed; the sweep still recovers dead silos' leases")]
    private static partial void LogWatchFailed(ILogger logger, Exception ex);
}
