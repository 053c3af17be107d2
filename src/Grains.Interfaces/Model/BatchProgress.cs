namespace OrleansLlm;

/// <param name="Total">Distinct items submitted; null for the default batch, whose producers are outside the cluster.</param>
/// <param name="Queued">Items waiting in the ready list; null when <paramref name="Total"/> is unknown.</param>
/// <param name="Sealed">True once the client has submitted every item.</param>
/// <param name="Priority">The batch's priority class.</param>
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
    [property: Id(8)] BatchPriority Priority = BatchPriority.Normal)
{
    /// <summary>Every submitted item has either a result or a dead letter.</summary>
    public bool IsComplete => Sealed && Total is { } total && Done + DeadLettered >= total;
}
