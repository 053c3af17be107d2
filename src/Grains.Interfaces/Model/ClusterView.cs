namespace OrleansLlm;

/// <param name="RecoveredLeases">Leases of dead silos or past their deadline that recovery handed back since the queue began (counted in Redis).</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.ClusterView")]
public sealed record ClusterView(
    [property: Id(0)] IReadOnlyList<WorkerView> Workers,
    [property: Id(1)] QueueOverview Queue,
    [property: Id(2)] string CoordinatorSilo,
    [property: Id(3)] long RecoveredLeases);
