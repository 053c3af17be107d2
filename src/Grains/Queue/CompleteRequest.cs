namespace OrleansLlm.Queue;

/// <summary>One answer for <see cref="RedisLeaseQueue.CompleteManyAsync"/>: what <see cref="RedisLeaseQueue.CompleteAsync"/> takes for one.</summary>
/// <param name="Lease">The lease it was asked under (its token and the item as leased).</param>
/// <param name="Owner">The silo that held the lease.</param>
/// <param name="Usage">What the backend spent: added to the batch's usage whatever the outcome.</param>
public sealed record CompleteRequest(Lease Lease, string Owner, string ItemId, string Result, TokenUsage Usage);
