namespace OrleansLlm.Queue;

/// <summary>
/// Every Redis key of one queue. KEDA reads <see cref="Ready"/> (LLEN) and <see cref="InFlight"/> (HLEN);
/// the deploy manifests must use these exact names.
/// </summary>
public sealed record QueueKeys(string Name)
{
    /// <summary>The ready list: producers RPUSH, workers take from the head.</summary>
    public string Ready => Name;

    /// <summary>Hash lease id → item: everything leased and not yet completed.</summary>
    public string InFlight => $"{Name}:inflight";

    /// <summary>Hash lease id → owner (the silo holding the lease).</summary>
    public string Owners => $"{Name}:owners";

    /// <summary>Sorted set lease id → deadline (Unix ms, Redis clock).</summary>
    public string Deadlines => $"{Name}:deadlines";

    /// <summary>Hash lease id → error of the attempt that failed under this lease.</summary>
    public string LeaseErrors => $"{Name}:lease-errors";

    /// <summary>Hash SHA-1 of the item → failed attempts so far. Keyed by content, so the item text never changes.</summary>
    public string Attempts => $"{Name}:attempts";

    /// <summary>Dead-letter list: JSON objects with the reason, the attempts and the original item.</summary>
    public string DeadLetter => $"{Name}:dead";

    public string LeaseSequence => $"{Name}:lease-seq";

    /// <summary>Count of results written a second time for the same item id (duplicate processing).</summary>
    public string Duplicates => $"{Name}:duplicates";

    /// <summary>Sorted set of batch ids by creation time.</summary>
    public string Batches => $"{Name}:batches";

    /// <summary>Prefix of the per-batch hash (spec, sealed flag, in-flight and dead counters); the scripts append the batch id.</summary>
    public string BatchPrefix => $"{Name}:batch:";

    public string Batch(string batchId) => BatchPrefix + batchId;

    /// <summary>Set of the item ids submitted to a batch: its size is the batch total.</summary>
    public string BatchIds(string batchId) => $"{Name}:batch-ids:{batchId}";

    /// <summary>Hash item id → result JSON. HSETNX keeps exactly one result per id.</summary>
    public string Results(string batchId) => $"{Name}:results:{batchId}";
}
