using System.Diagnostics.Metrics;

namespace OrleansLlm.Telemetry;

/// <summary>
/// What this silo's worker did with items (<c>orleansllm_items_*</c>) and how it stands
/// (<c>orleansllm_worker_*</c>). The worker counts each outcome where it records it (WorkerStatistics), and publishes its status with
/// every heartbeat; the gauges show the last one.
/// </summary>
public sealed class WorkerMetrics
{
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _released;
    private readonly Counter<long> _late;
    private volatile WorkerStatus? _status;

    public WorkerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
        // Counters get "_total" from the Prometheus exporter; no unit, so none is appended before it.
        _completed = meter.CreateCounter<long>("orleansllm_items_completed", description: "Items this silo answered and stored.");
        _failed = meter.CreateCounter<long>(
            "orleansllm_items_failed", description: "Attempts at items that failed on this silo, the last one before a dead letter included, by reason.");
        _deadLettered = meter.CreateCounter<long>("orleansllm_items_dead_lettered", description: "Items this silo dead-lettered, by reason.");
        _released = meter.CreateCounter<long>(
            "orleansllm_items_released", description: "Unfinished items this silo handed back to the queue while draining (first in their turn).");
        _late = meter.CreateCounter<long>(
            "orleansllm_items_late", description: "Answers this silo got after their lease had gone back and their item had ended elsewhere: dropped, never stored twice.");

        // Every series exists from the start at 0, so rate() and increase() also count a silo's first items.
        _completed.Add(0);
        _released.Add(0);
        _late.Add(0);
        foreach (var reason in FailureReasons.AttemptReasons)
        {
            _failed.Add(0, Reason(reason));
        }

        foreach (var reason in FailureReasons.DeadLetterReasons)
        {
            _deadLettered.Add(0, Reason(reason));
        }

        // Observed from the last heartbeat: reading the grain's own fields from the exporter's thread would race its scheduler.
        meter.CreateObservableGauge("orleansllm_worker_inflight_requests", () => Observe(s => s.InFlight), "{request}", "Ollama requests in flight from this silo's worker.");
        meter.CreateObservableGauge("orleansllm_worker_concurrency_limit", () => Observe(s => s.ConcurrencyLimit), "{request}", "Ollama requests the worker allows in flight now.");
        meter.CreateObservableGauge(
            "orleansllm_worker_draining", () => Observe(s => s.State == WorkerState.Active ? 0 : 1), description: "1 while the worker drains or once it has drained, else 0.");
    }

    public void Completed() => _completed.Add(1);

    /// <param name="reason">One of <see cref="FailureReasons"/>.</param>
    public void Failed(string reason) => _failed.Add(1, Reason(reason));

    /// <param name="reason">One of <see cref="FailureReasons"/>.</param>
    public void DeadLettered(string reason) => _deadLettered.Add(1, Reason(reason));

    public void Released(int count) => _released.Add(count);

    public void Late() => _late.Add(1);

    /// <summary>The worker's latest status, for the <c>orleansllm_worker_*</c> gauges.</summary>
    public void Publish(WorkerStatus status) => _status = status;

    private static KeyValuePair<string, object?> Reason(string reason) => new("reason", reason);

    private IEnumerable<Measurement<int>> Observe(Func<WorkerStatus, int> read) =>
        _status is { } status ? [new Measurement<int>(read(status))] : [];
}
