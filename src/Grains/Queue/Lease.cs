namespace OrleansLlm.Queue;

/// <param name="Id">
/// The lease's token: fresh for every lease, never given twice (also across a Redis restart from an older AOF). Every
/// settle carries it, so a stale lease changes nothing.
/// </param>
/// <param name="Payload">The item exactly as it sits in Redis.</param>
/// <param name="FailedAttempts">Attempts at this item that already failed.</param>
/// <param name="GenuineEnvelope">
/// For an item in a batch envelope: whether the batch store enqueued this very envelope. Null for raw items.
/// A producer can push anything onto the raw list, envelopes included; only genuine ones count for their batch.
/// </param>
public sealed record Lease(string Id, string Payload, int FailedAttempts, bool? GenuineEnvelope = null);
