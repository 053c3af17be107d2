namespace OrleansLlm;

/// <param name="Membership">The silo's status in Orleans membership (Active, ShuttingDown, Dead, ...).</param>
/// <param name="Throughput">Items completed per second over the last heartbeats.</param>
/// <param name="LeasesInRedis">Leases Redis holds for this silo: the authoritative in-flight count.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.WorkerView")]
public sealed record WorkerView(
    [property: Id(0)] WorkerStatus Status,
    [property: Id(1)] string Membership,
    [property: Id(2)] double Throughput,
    [property: Id(3)] DateTimeOffset LastReport,
    [property: Id(4)] long LeasesInRedis);
