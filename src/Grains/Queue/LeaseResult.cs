namespace OrleansLlm.Queue;

/// <summary>What one lease call took.</summary>
/// <param name="More">
/// The call stopped at its bound of steps (items parked, removed or looked past on the way), so items may still be
/// ready: ask again at once rather than idle.
/// </param>
public sealed record LeaseResult(IReadOnlyList<Lease> Leases, bool More);
