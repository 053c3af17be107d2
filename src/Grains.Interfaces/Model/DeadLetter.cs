namespace OrleansLlm;

/// <summary>One item on the dead-letter list, and why it is there.</summary>
/// <param name="Batch">The batch the item belongs to (<see cref="BatchIds.Default"/> for raw items).</param>
/// <param name="ItemId">The item's id; null when the payload could not be read (it was dead-lettered for that).</param>
/// <param name="Reason">Why it was dead-lettered, e.g. "failed 5 attempts" or "malformed item: ...".</param>
/// <param name="Error">The last error, for items that failed their attempts; else null.</param>
/// <param name="Attempts">Attempts it failed.</param>
/// <param name="Silo">The silo that dead-lettered it.</param>
/// <param name="Item">The item's JSON, out of its envelope; the payload as it was when it is not JSON.</param>
/// <param name="Answer">The model's answer when it is why the item is here (it broke the batch's format); else null.</param>
/// <param name="RetriedAt">When <c>retry</c> put the item back in the queue; null while it is dead-lettered.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.DeadLetter")]
public sealed record DeadLetter(
    [property: Id(0)] string Batch,
    [property: Id(1)] string? ItemId,
    [property: Id(2)] string Reason,
    [property: Id(3)] string? Error,
    [property: Id(4)] int Attempts,
    [property: Id(5)] string Silo,
    [property: Id(6)] DateTimeOffset At,
    [property: Id(7)] string Item,
    [property: Id(8)] string? Answer = null,
    [property: Id(9)] DateTimeOffset? RetriedAt = null);
