using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Kubernetes;

/// <summary>
/// Keeps this silo's own pod in the deletion-cost bucket of its worker (<see cref="PodDeletionCostBucket"/>): busy
/// while it holds items (in flight, or leased ahead and waiting for a slot: <see cref="LocalWorkerState.InFlight"/>), idle once it has had none for <see cref="KubernetesOptions.PodDeletionCostIdleAfter"/>,
/// draining from the moment it stops leasing. The pod is patched only when its bucket changes.
/// </summary>
/// <remarks>
/// <para>
/// Each silo writes its own pod only, named by its silo name, which Kubernetes hosting sets to the pod's name. A silo
/// that dies patches nothing more: its pod is gone or going, and its leases come back through the coordinator.
/// </para>
/// <para>
/// At start it reads what its pod carries, since a restarted container's pod keeps the cost its predecessor wrote.
/// A failed read or patch is logged and tried again on the next round; a pod that is not found is not asked for again
/// (the silo's name is then not a pod's name, or its pod is gone).
/// </para>
/// <para>
/// Subscribed at <see cref="ServiceLifecycleStage.ApplicationServices"/>, below the worker's stage: on the way down it
/// stops only after the worker has drained, so the pod is marked draining while it drains.
/// </para>
/// </remarks>
public sealed partial class PodDeletionCostReporter(
    LocalWorkerState worker,
    KubernetesPodDeletionCostPublisher publisher,
    ILocalSiloDetails localSilo,
    IOptions<KubernetesOptions> options,
    TimeProvider time,
    ILogger<PodDeletionCostReporter> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    // One slow API call must not hold up the rounds for long; it is tried again on the next one.
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();
    private Task _run = Task.CompletedTask;
    private PodDeletionCostBucket? _published;
    private PodDeletionCostBucket? _current;
    private long _lastBusy;

    /// <summary>Whether it still keeps its pod's cost: false before the silo starts, after it stops, and once its pod was not found.</summary>
    public bool IsRunning => !_run.IsCompleted;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PodDeletionCostReporter), ServiceLifecycleStage.ApplicationServices, StartAsync, StopAsync);

    /// <summary>
    /// The bucket a worker belongs in, given its state, what it has in flight, and how long ago it last had something
    /// in flight while <paramref name="current"/> was busy.
    /// </summary>
    /// <returns>Null before the worker has started: nothing is known yet.</returns>
    public static PodDeletionCostBucket? Classify(WorkerState? state, int inFlight, PodDeletionCostBucket? current, TimeSpan sinceLastBusy, TimeSpan idleAfter) =>
        state switch
        {
            null => null,
            WorkerState.Draining or WorkerState.Drained => PodDeletionCostBucket.Draining,
            _ when inFlight > 0 => PodDeletionCostBucket.Busy,
            _ when current == PodDeletionCostBucket.Busy && sinceLastBusy < idleAfter => PodDeletionCostBucket.Busy,
            _ => PodDeletionCostBucket.Idle,
        };

    private Task StartAsync(CancellationToken cancellationToken)
    {
        // Not awaited: the silo's start does not wait on the API server.
        _run = RunAsync(localSilo.Name, _stopping.Token);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _run;
    }

    private async Task RunAsync(string pod, CancellationToken stopping)
    {
        try
        {
            await Task.Yield();
            if (!await ReadAsync(pod, stopping))
            {
                return;
            }

            var o = options.Value;
            using var timer = new PeriodicTimer(o.PodDeletionCostInterval, time);
            do
            {
                if (!await UpdateAsync(pod, o.PodDeletionCostIdleAfter, stopping))
                {
                    return;
                }
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <returns>False if the pod does not exist.</returns>
    private async Task<bool> ReadAsync(string pod, CancellationToken stopping)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(RequestTimeout);
            var (exists, cost) = await publisher.ReadAsync(pod, timeout.Token);
            if (!exists)
            {
                LogPodNotFound(logger, pod, publisher.Namespace);
                return false;
            }

            // No annotation counts as 0, which is idle; a value of no bucket (written by hand, or by an older
            // version) is unknown, and rewritten on the first round.
            _published = cost is null ? PodDeletionCostBucket.Idle
                : Enum.IsDefined((PodDeletionCostBucket)cost.Value) ? (PodDeletionCostBucket)cost.Value
                : null;
            _current = _published;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            LogReadFailed(logger, ex, pod);
        }

        return true;
    }

    /// <returns>False if the pod does not exist (any more).</returns>
    private async Task<bool> UpdateAsync(string pod, TimeSpan idleAfter, CancellationToken stopping)
    {
        var inFlight = worker.InFlight;
        var now = time.GetTimestamp();
        if (inFlight > 0)
        {
            _lastBusy = now;
        }

        _current = Classify(worker.State, inFlight, _current, time.GetElapsedTime(_lastBusy, now), idleAfter) ?? _current;
        if (_current is not { } bucket || bucket == _published)
        {
            return true;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(RequestTimeout);
            if (!await publisher.PublishAsync(pod, (int)bucket, timeout.Token))
            {
                LogPodNotFound(logger, pod, publisher.Namespace);
                return false;
            }

            LogPublished(logger, pod, bucket, (int)bucket);
            _published = bucket;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            LogPublishFailed(logger, ex, pod, bucket);
        }

        return true;
    }
}
