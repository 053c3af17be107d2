using Orleans.Concurrency;

namespace OrleansLlm;

/// <summary>
/// The cluster's one coordinator (reach it with <see cref="CoordinatorGrainFactoryExtensions.GetCoordinator"/>): it
/// hears every worker's heartbeat, shows the cluster (silos, workers, the queue), and routes drains.
/// </summary>
/// <remarks>
/// It keeps nothing that matters only in memory: workers report every few seconds and the queue lives in Redis,
/// so a coordinator re-activated after its silo died rebuilds its view within one heartbeat. Recovering the leases
/// of dead silos is not its job: every silo does that (<c>LeaseRecovery</c>), so it never waits for the coordinator.
/// </remarks>
[Alias("OrleansLlm.ICoordinatorGrain")]
public interface ICoordinatorGrain : IGrainWithIntegerKey
{
    [Alias("Report")]
    Task ReportAsync(WorkerStatus status, CancellationToken cancellationToken = default);

    [Alias("GetCluster")]
    Task<ClusterView> GetClusterAsync(CancellationToken cancellationToken = default);

    /// <summary>Drains the worker of the one silo whose address contains <paramref name="silo"/>.</summary>
    /// <returns>The full address of the silo now draining.</returns>
    [Alias("Drain")]
    Task<string> DrainAsync(string silo, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the drained worker of the one active silo whose address contains <paramref name="silo"/> to work.
    /// A worker still draining, or a silo shutting down, is refused with an <see cref="InvalidOperationException"/>.
    /// </summary>
    [Alias("Undrain")]
    Task<UndrainResult> UndrainAsync(string silo, CancellationToken cancellationToken = default);

    /// <summary>
    /// The worker of <paramref name="silo"/> found work after the queue had been empty (a new batch, most likely), or a
    /// batch enqueued items (<see cref="Submitted"/>): every other active worker is woken
    /// (<see cref="IWorkerGrain.WakeAsync"/>), rather than finding it when its idle wait ends, up to
    /// <c>Worker:PollMaxDelay</c> later. At most once a second: the woken workers report the same work, and a batch
    /// enqueues chunk after chunk. One-way, so there is nothing to cancel.
    /// </summary>
    [Alias("WorkFound"), OneWay]
    Task WorkFoundAsync(string silo);

    /// <summary>The <c>silo</c> of <see cref="WorkFoundAsync"/> when a batch enqueued the work: no worker has it yet.</summary>
    const string Submitted = "";
}
