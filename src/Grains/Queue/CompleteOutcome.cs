namespace OrleansLlm.Queue;

/// <summary>What became of an answer sent to <see cref="RedisLeaseQueue.CompleteAsync"/>.</summary>
public enum CompleteOutcome
{
    /// <summary>The result is stored and the item is done (also for an answer whose lease had gone back, while its item had not ended).</summary>
    Stored,

    /// <summary>The lease had gone back and its item ended elsewhere first (done, dead-lettered or removed): nothing stored, counted as late.</summary>
    Late,

    /// <summary>
    /// A raw item whose id has a result already, perhaps another item's: nothing changed and the lease still holds.
    /// The caller discards it (the same item, delivered twice) or dead-letters it (a duplicate id).
    /// </summary>
    Conflict,
}
