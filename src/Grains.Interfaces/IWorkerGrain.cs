using Orleans.Concurrency;

namespace OrleansLlm;

/// <summary>
/// The per-silo worker: leases items from the Redis queue and sends them to the Ollama beside its silo.
/// </summary>
/// <remarks>
/// Keyed by the parsable address of the silo it must live on (<c>SiloAddress.ToParsableString()</c>);
/// its placement guarantees it is activated on exactly that silo.
/// </remarks>
[Alias("OrleansLlm.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Ensures the worker is running: the call activates it, and restarts its pump if the pump ever stopped while
    /// the worker is active. Idempotent; the silo lifecycle calls it at start and on every heartbeat.
    /// </summary>
    [Alias("Start")]
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops leasing at once, lets in-flight calls finish within <paramref name="timeout"/> (default:
    /// <c>Worker:DrainTimeout</c>), then hands whatever is unfinished back to the queue, first in its batch's turn (a raw item: the head of the raw list).</summary>
    /// <remarks>Returns as soon as draining has started; <see cref="GetStatusAsync"/> says when it is drained.</remarks>
    [Alias("Drain")]
    Task DrainAsync(TimeSpan? timeout, CancellationToken cancellationToken = default);

    [Alias("GetStatus")]
    Task<WorkerStatus> GetStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Takes work again after an operator's drain. Idempotent.</summary>
    /// <returns>True when the worker was drained and now takes work; false when it was active already.</returns>
    /// <exception cref="InvalidOperationException">The worker is still draining, or its silo is shutting down.</exception>
    [Alias("Undrain")]
    Task<bool> UndrainAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Another worker found work after the queue had been empty (<see cref="ICoordinatorGrain.WorkFoundAsync"/>): an
    /// idle worker leases now rather than when its wait ends; a busy one just polls once more the next time it finds the
    /// queue empty. One-way, so there is nothing to cancel.
    /// </summary>
    [Alias("Wake"), OneWay]
    Task WakeAsync();
}
