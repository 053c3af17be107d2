namespace OrleansLlm;

/// <summary>
/// The cluster's one coordinator (key 0): it hears every worker's heartbeat, knows what is queued and in flight and
/// where, and is the one place that hands back leases of dead silos and expired leases.
/// </summary>
/// <remarks>
/// It keeps nothing that matters only in memory: workers report every few seconds and the queue lives in Redis,
/// so a coordinator re-activated after its silo died rebuilds its view within one heartbeat.
/// </remarks>
[Alias("OrleansLlm.ICoordinatorGrain")]
public interface ICoordinatorGrain : IGrainWithIntegerKey
{
    [Alias("Report")]
    Task ReportAsync(WorkerStatus status);

    [Alias("GetCluster")]
    Task<ClusterView> GetClusterAsync();

    /// <summary>Drains the worker of the one silo whose address contains <paramref name="silo"/>.</summary>
    /// <returns>The full address of the silo now draining.</returns>
    [Alias("Drain")]
    Task<string> DrainAsync(string silo);
}
