namespace OrleansLlm;

/// <param name="Total">Distinct items submitted; null for the default batch, whose producers are outside the cluster.</param>
/// <param name="Queued">Items waiting for a lease (in its priority class's ready set, or parked for their model); null when <paramref name="Total"/> is unknown.</param>
/// <param name="Sealed">True once the client has submitted every item.</param>
/// <param name="Priority">The batch's priority class.</param>
/// <param name="Removed">Queued items removed by a cancel or the deadline.</param>
/// <param name="Status">One of <see cref="BatchStates"/>; empty for the default batch.</param>
/// <param name="Deadline">When what is still queued expires; null for no deadline.</param>
/// <param name="WaitingForModel">The model its queued items wait for because no silo serves it; else null.</param>
/// <param name="Tenant">The API tenant whose batch it is; null for a batch the CLI submitted.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchProgress")]
public sealed record BatchProgress(
    [property: Id(0)] string BatchId,
    [property: Id(1)] bool Exists,
    [property: Id(2)] long? Total,
    [property: Id(3)] long? Queued,
    [property: Id(4)] long InFlight,
    [property: Id(5)] long Done,
    [property: Id(6)] long DeadLettered,
    [property: Id(7)] bool Sealed,
    [property: Id(8)] BatchPriority Priority = BatchPriority.Normal,
    [property: Id(9)] long Removed = 0,
    [property: Id(10)] string Status = "",
    [property: Id(11)] DateTimeOffset? Deadline = null,
    [property: Id(12)] string? WaitingForModel = null,
    [property: Id(13)] string? Tenant = null)
{
    /// <summary>
    /// Every submitted item has a result, a dead letter, or was removed (cancelled or expired), and none is in flight:
    /// the batch is <see cref="BatchStates.Completed"/>, <see cref="BatchStates.Cancelled"/> or <see cref="BatchStates.Expired"/>.
    /// </summary>
    public bool IsComplete =>
        (Sealed || Status is BatchStates.Cancelled or BatchStates.Expired) && InFlight == 0
        && Total is { } total && Done + DeadLettered + Removed >= total;
}
