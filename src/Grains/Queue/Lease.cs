namespace OrleansLlm.Queue;

/// <param name="Id">Lease id, unique for this queue.</param>
/// <param name="Payload">The item exactly as it sits in Redis.</param>
/// <param name="FailedAttempts">Attempts at this item that already failed.</param>
public sealed record Lease(string Id, string Payload, int FailedAttempts);
