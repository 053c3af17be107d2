using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>
/// What the worker counts and where it stands: its state, the items it completed, retried and dead-lettered, and
/// its answers' recent waits in Ollama. Counted where items are recorded (<see cref="WorkerQueue"/>) and published
/// with every heartbeat: the coordinator gets <see cref="Status"/>, the <c>orleansllm_*</c> metrics and the silo's
/// readiness, drained marker and pod deletion cost (<see cref="LocalWorkerState"/>) follow.
/// </summary>
/// <remarks>
/// Scoped: one per worker activation (Orleans gives each its own service scope), shared by the grain and its
/// <see cref="WorkerQueue"/>. Not thread-safe: it belongs to the worker grain, which runs one turn at a time.
/// </remarks>
public sealed class WorkerStatistics(WorkerMetrics metrics, LocalWorkerState local, TimeProvider time)
{
    private readonly RecentWaits _waits = new(time);
    private long _completed;
    private long _retried;
    private long _deadLettered;

    public WorkerState State { get; private set; } = WorkerState.Active;

    /// <summary>Whether the silo is shutting down: its worker then drains for good.</summary>
    public bool SiloStopping => local.SiloStopping;

    /// <summary>Moves to <paramref name="state"/>, for the silo's readiness and drained marker at once.</summary>
    public void Enter(WorkerState state)
    {
        State = state;
        local.Set(state);
    }

    public void Completed(TimeSpan ollamaWait)
    {
        _completed++;
        _waits.Add(ollamaWait);
        metrics.Completed();
    }

    /// <summary>An answer came after its item had ended elsewhere; it was dropped.</summary>
    public void Late() => metrics.Late();

    /// <summary>An attempt at an item failed.</summary>
    /// <param name="reason">One of <see cref="FailureReasons"/>.</param>
    /// <param name="retried">Whether the item waits for another attempt (not handed back, removed or dead-lettered).</param>
    public void Failed(string reason, bool retried)
    {
        metrics.Failed(reason);
        if (retried)
        {
            _retried++;
        }
    }

    /// <param name="reason">One of <see cref="FailureReasons.DeadLetterReasons"/>.</param>
    public void DeadLettered(string reason)
    {
        _deadLettered++;
        metrics.DeadLettered(reason);
    }

    public void Released(int count) => metrics.Released(count);

    public WorkerStatus Status(string silo, int inFlight, int limit, Uri ollamaUrl, int buffered) =>
        new(silo, State, inFlight, limit, _completed, _retried, _deadLettered, ollamaUrl.ToString(), _waits.P99(), buffered);

    /// <summary>Publishes a heartbeat's status to the metrics, and the items the worker holds to the pod's deletion cost.</summary>
    public void Publish(WorkerStatus status, int itemsHeld)
    {
        // The one call for the pod deletion cost (Kubernetes/PodDeletionCostReporter): the items this worker holds, in
        // flight or leased ahead.
        local.SetInFlight(itemsHeld);
        metrics.Publish(status);
    }
}
