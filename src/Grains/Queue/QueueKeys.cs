using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// Every Redis key of one queue. KEDA reads <see cref="Outstanding"/>: the raw ready list (LLEN), the ready set of
/// each priority class (ZCARD) and <see cref="InFlight"/> (HLEN); the deploy manifests must use these exact names.
/// </summary>
/// <remarks>
/// Every key starts with <see cref="Name"/>. On Redis Cluster, give the name a hash tag (<c>{cities}</c>): then every
/// key of the queue, the batches' keys included, lands in one slot, which the Lua scripts need, since each one
/// touches several keys atomically.
/// </remarks>
public sealed record QueueKeys(string Name)
{
    /// <summary>
    /// True when <see cref="Name"/> carries a Redis Cluster hash tag: a <c>{</c>, later a <c>}</c>, and something
    /// between them (Redis' own rule), so every key that starts with the name hashes to the same slot.
    /// </summary>
    public bool HasHashTag => Name.IndexOf('{') is >= 0 and var open && Name.IndexOf('}', open + 1) is var close && close > open + 1;

    /// <summary>
    /// The raw ready list: producers (Bento) RPUSH raw items, workers take from the head. Its items are the normal
    /// class's batch <see cref="BatchIds.Default"/>, taking turns with the batches in <see cref="ReadyClass"/>.
    /// </summary>
    public string Ready => Name;

    /// <summary>
    /// Sorted set of one priority class's ready batch items (envelopes), scored by their start-time fair queuing tag:
    /// the lowest is leased first, so the class's batches take turns.
    /// </summary>
    public string ReadyClass(BatchPriority priority) => $"{Name}:ready:{BatchPriorities.Name(priority)}";

    /// <summary>
    /// Hash of the scheduler's state: <c>vt:CLASS</c> (the class's virtual time: the tag of its last leased item),
    /// <c>tag:B</c> (the next tag of batch B), <c>raw</c> (the next tag of the raw ready list), <c>class:B</c>
    /// (batch B's priority class), <c>stop:B</c> (<c>cancelled</c> or <c>expired</c>: B's queued items are removed);
    /// for routing, <c>model:B</c> (B's model key), <c>served:M</c> (until when some silo serves model M, ms),
    /// <c>parked:B</c> (the model B's parked items wait for) and <c>parked-n:M</c> (items parked for M).
    /// </summary>
    public string Scheduler => $"{Name}:sched";

    /// <summary>
    /// Sorted set of ready batch items whose model no live silo serves, with their tags: set aside so they neither
    /// block their class nor get dead-lettered; back in their class as soon as a silo that serves the model leases.
    /// </summary>
    public string Parked => $"{Name}:parked";

    /// <summary>Hash batch id → queued items removed from the batch by a cancel or its deadline.</summary>
    public string BatchRemoved => $"{Name}:batch-removed";

    /// <summary>Sorted set batch id → its deadline (Unix ms): what is still queued then is expired.</summary>
    public string BatchDeadlines => $"{Name}:batch-deadlines";

    /// <summary>Every key of items waiting or being worked on, which KEDA adds up: ready list, ready sets, in flight.</summary>
    public IReadOnlyList<string> Outstanding =>
        [Ready, .. BatchPriorities.All.Select(ReadyClass), InFlight];

    /// <summary>Hash lease id → item: every item leased and not yet settled, waiting retries included.</summary>
    public string InFlight => $"{Name}:inflight";

    /// <summary>Hash lease id → owner (the silo holding the lease). A lease waiting for its retry has no owner.</summary>
    public string Owners => $"{Name}:owners";

    /// <summary>Sorted set lease id → deadline (Unix ms, Redis clock) of the leases an owner holds.</summary>
    public string Deadlines => $"{Name}:deadlines";

    /// <summary>Sorted set lease id → when a failed item may be tried again (Unix ms, Redis clock).</summary>
    public string Retries => $"{Name}:retries";

    /// <summary>Hash lease id → error of the attempt that failed under this lease.</summary>
    public string LeaseErrors => $"{Name}:lease-errors";

    /// <summary>Hash SHA-1 of the item → failed attempts so far. Keyed by content, so the item text never changes.</summary>
    public string Attempts => $"{Name}:attempts";

    /// <summary>Dead-letter list: JSON objects with the reason, the attempts and the original item.</summary>
    public string DeadLetter => $"{Name}:dead";

    public string LeaseSequence => $"{Name}:lease-seq";

    /// <summary>Count of results written a second time for the same item id (an item processed twice).</summary>
    public string Duplicates => $"{Name}:duplicates";

    /// <summary>Count of leases handed back by recovery: expired, or held by a silo declared dead.</summary>
    public string Recovered => $"{Name}:recovered";

    /// <summary>Set of the SHA-1s of the envelopes the batch store enqueued: only those count for their batch.</summary>
    public string Envelopes => $"{Name}:envelopes";

    /// <summary>Hash SHA-1 of the item → JSON list of the silos it failed on.</summary>
    public string FailedOn => $"{Name}:failed-on";

    /// <summary>Hash batch id → items of the batch leased now (waiting retries included).</summary>
    public string BatchInFlight => $"{Name}:batch-inflight";

    /// <summary>Hash batch id → items of the batch dead-lettered.</summary>
    public string BatchDead => $"{Name}:batch-dead";

    /// <summary>
    /// Hash of what Ollama did for each batch: <c>B:prompt</c> and <c>B:completion</c> tokens, <c>B:ollama_ms</c> (the
    /// sum of its answers' <c>total_duration</c>), for a batch id B.
    /// </summary>
    public string BatchUsage => $"{Name}:batch-usage";

    /// <summary>Sorted set of batch ids by creation time.</summary>
    public string Batches => $"{Name}:batches";

    /// <summary>Hash of one batch: its spec, when it was created, whether it is sealed.</summary>
    public string Batch(string batchId) => $"{Name}:batch:{batchId}";

    /// <summary>Hash item id → ordinal (1, 2, ... in submission order): the batch's items, and so its total.</summary>
    public string BatchItems(string batchId) => $"{Name}:batch-items:{batchId}";

    /// <summary>Hash item id → result document. The first result for an id wins.</summary>
    public string Results(string batchId) => $"{Name}:results:{batchId}";

    /// <summary>Sorted set item id → ordinal: results are read in this order, each exactly once.</summary>
    public string ResultOrder(string batchId) => $"{Name}:result-order:{batchId}";

    /// <summary>
    /// The keys every queue script receives first, in this order; <see cref="QueueScripts"/> names them in its
    /// prelude. Declaring them all keeps every script valid on Redis Cluster.
    /// </summary>
    internal RedisKey[] Common =>
    [
        Ready, InFlight, Owners, Deadlines, Retries, LeaseErrors, Attempts, DeadLetter, LeaseSequence, BatchInFlight, BatchDead,
        Recovered, Duplicates, Envelopes, FailedOn,
        ReadyClass(BatchPriority.High), ReadyClass(BatchPriority.Normal), ReadyClass(BatchPriority.Low), Scheduler, BatchRemoved, Parked,
    ];

    /// <summary><see cref="Common"/>, then the keys of one batch that a script also touches.</summary>
    internal RedisKey[] With(params string[] batchKeys) => [.. Common, .. batchKeys.Select(k => (RedisKey)k)];
}
