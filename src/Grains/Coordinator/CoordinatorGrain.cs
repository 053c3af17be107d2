using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansLlm.Queue;

namespace OrleansLlm.Coordinator;

/// <summary>
/// One per cluster: hears every worker's heartbeat, shows the cluster (silos, workers, the queue) and routes drains.
/// </summary>
/// <remarks>
/// Nothing here must survive a crash: the workers' next heartbeats rebuild the table and Redis holds the queue.
/// Orphaned leases are not its job: <see cref="Recovery.LeaseRecovery"/> on every silo hands them back.
/// </remarks>
[Reentrant]
public sealed partial class CoordinatorGrain(
    ShardedLeaseQueue queue,
    ShardedQueueItems items,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    TimeProvider time,
    ILogger<CoordinatorGrain> logger) : Grain, ICoordinatorGrain
{
    // Forget workers that stopped reporting long ago (their silo is gone and membership forgot it too).
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    // A batch's first items wake the idle workers once; the workers they wake report the same work moments later.
    private static readonly TimeSpan WakeEvery = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, WorkerRecord> _workers = new(StringComparer.Ordinal);
    private DateTimeOffset _lastWake = DateTimeOffset.MinValue;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        LogActivated(logger, localSilo.SiloAddress.ToString());
        return Task.CompletedTask;
    }

    public Task ReportAsync(WorkerStatus status, CancellationToken cancellationToken)
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

    public async Task<ClusterView> GetClusterAsync(CancellationToken cancellationToken)
    {
        var snapshot = membership.CurrentSnapshot;
        var leases = await queue.LeasesByOwnerAsync(cancellationToken);
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
        var c = await items.GetCountsAsync(recentBatches: 10, cancellationToken);
        var overview = new QueueOverview(c.QueueName, c.Ready, c.InFlight, c.DeadLettered, c.RecentBatches);
        return new ClusterView(workers, overview, localSilo.SiloAddress.ToParsableString(), await queue.RecoveredAsync(cancellationToken));
    }

    public async Task<string> DrainAsync(string silo, CancellationToken cancellationToken)
    {
        var target = ActiveSiloMatching(silo);
        await GrainFactory.GetGrain<IWorkerGrain>(target).DrainAsync(timeout: null, cancellationToken);
        return target;
    }

    public async Task<UndrainResult> UndrainAsync(string silo, CancellationToken cancellationToken)
    {
        var target = ActiveSiloMatching(silo);
        var wasDrained = await GrainFactory.GetGrain<IWorkerGrain>(target).UndrainAsync(cancellationToken);
        return new UndrainResult(target, wasDrained);
    }

    public async Task WorkFoundAsync(string silo)
    {
        var now = time.GetUtcNow();
        if (now - _lastWake < WakeEvery)
        {
            return;
        }

        _lastWake = now;
        var active = ActiveSilos().ToHashSet(StringComparer.Ordinal);
        // Taken before the first call: the grain is reentrant, and a report arriving meanwhile may add a worker.
        var others = _workers.Where(w => w.Key != silo && active.Contains(w.Key) && w.Value.Status.State == WorkerState.Active).Select(w => w.Key).ToArray();
        foreach (var worker in others)
        {
            await GrainFactory.GetGrain<IWorkerGrain>(worker).WakeAsync();
        }
    }

    /// <summary>The addresses of the silos membership holds active, as workers are keyed.</summary>
    private IEnumerable<string> ActiveSilos() => membership.CurrentSnapshot.Members.Values
        .Where(m => m.Status == SiloStatus.Active)
        .Select(m => m.SiloAddress.ToParsableString());

    private string ActiveSiloMatching(string silo)
    {
        var matches = ActiveSilos().Where(a => a.Contains(silo, StringComparison.Ordinal)).ToArray();
        return matches switch
        {
            [var one] => one,
            [] => throw new ArgumentException($"No active silo matches '{silo}'."),
            _ => throw new ArgumentException($"'{silo}' matches {matches.Length} silos ({string.Join(", ", matches)}); be more specific."),
        };
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
}
