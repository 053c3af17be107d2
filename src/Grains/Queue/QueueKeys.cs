namespace OrleansLlm.Queue;

/// <summary>
/// Every Redis key of one queue; <c>Scripts/include/common.lua</c> names the same keys (a test holds the two to each
/// other). KEDA reads <see cref="Outstanding"/>: the raw ready list (LLEN), the ready set of each priority class
/// (ZCARD) and <see cref="InFlight"/> (HLEN); the deploy manifests must use these exact names.
/// </summary>
/// <remarks>
/// Every key starts with <see cref="Name"/>. On Redis Cluster, give the name a hash tag (<c>{cities}</c>): then every
/// key of the queue, the batches' keys included, lands in one slot, which the Lua scripts need, since each one
/// touches several keys atomically, among them the keys of the batches of the items it meets.
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

    /// <summary>Every key of items waiting or being worked on, which KEDA adds up: ready list, ready sets, in flight.</summary>
    public IReadOnlyList<string> Outstanding =>
        [Ready, .. BatchPriorities.All.Select(ReadyClass), InFlight];

    /// <summary>Hash token → item: every item leased and not yet settled, and those waiting for their retry.</summary>
    public string InFlight => $"{Name}:inflight";

    /// <summary>Hash token → owner (the silo holding the lease). An item waiting for its retry has none.</summary>
    public string Owners => $"{Name}:owners";

    /// <summary>Sorted set token → deadline (Unix ms, Redis clock) of the leases an owner holds.</summary>
    public string Deadlines => $"{Name}:deadlines";

    /// <summary>Sorted set token → when a failed item may be tried again (Unix ms, Redis clock).</summary>
    public string Retries => $"{Name}:retries";

    /// <summary>Hash token → the error a waiting item failed with.</summary>
    public string LeaseErrors => $"{Name}:lease-errors";

    /// <summary>The number of the last token given out.</summary>
    public string LeaseSequence => $"{Name}:lease-seq";

    /// <summary>
    /// The number last given to a batch's item. Numbers rise in submission order and are never given twice, across
    /// batches: a stale lease of a deleted batch's item never matches an item of a batch created again under its id.
    /// </summary>
    public string ItemSequence => $"{Name}:item-seq";

    /// <summary>Hash SHA-1 of a raw item → its record, from its first lease until it ends.</summary>
    public string RawState => $"{Name}:raw-state";

    /// <summary>
    /// Hash of the scheduler's state: <c>vt:CLASS</c> (the class's virtual time: the tag of its last leased item),
    /// <c>raw</c> (the raw list's next tag), <c>served:M</c> (until when some silo serves model M, ms), and
    /// <c>dead:B</c> (the dead letters of an ended batch B, until Purge forgets it).
    /// </summary>
    public string Scheduler => $"{Name}:sched";

    /// <summary>Hash of the whole queue's counts: <c>dead</c> (dead letters kept), <c>duplicates</c>, <c>recovered</c>, <c>late</c>, <c>fenced</c>.</summary>
    public string Stats => $"{Name}:stats";

    /// <summary>Sorted set of batch ids by creation time.</summary>
    public string Batches => $"{Name}:batches";

    /// <summary>Sorted set batch id → its deadline (Unix ms): what is still queued then is expired.</summary>
    public string BatchDeadlines => $"{Name}:batch-deadlines";

    /// <summary>Sorted set batch id → when its keys expire (Unix ms): Purge then forgets its index entries.</summary>
    public string Ended => $"{Name}:ended";

    /// <summary>Sorted set of the days (Unix ms / 86,400,000) raw items' results were stored in.</summary>
    public string RawDays => $"{Name}:raw-days";

    /// <summary>
    /// Sorted set of the ready items of batches whose model <paramref name="model"/> no live silo serves, with their
    /// tags: set aside so they neither block their class nor get dead-lettered; back in their class a page at a time
    /// as soon as a silo that serves the model leases.
    /// </summary>
    public string Parked(string model) => $"{Name}:parked:{model}";

    /// <summary>
    /// Hash token → outcome of the leases settled in one period (Unix ms / twice the lease duration), so a settle sent
    /// again returns its first outcome; it expires a period after its own ends.
    /// </summary>
    public string Settled(long period) => $"{Name}:settled:{period}";

    /// <summary>
    /// Hash of one batch: its spec, when it was created, sealed, stopped and ended, <c>first</c> (its items' lowest
    /// number), its counts and its usage.
    /// </summary>
    public string Batch(string batchId) => $"{Name}:batch:{batchId}";

    /// <summary>Hash item id → number (rising in submission order, see <see cref="ItemSequence"/>): the batch's items, and so its total.</summary>
    public string BatchItems(string batchId) => $"{Name}:batch-items:{batchId}";

    /// <summary>Hash item number → record, for the batch's items that were leased or parked and have not ended.</summary>
    public string BatchState(string batchId) => $"{Name}:batch-state:{batchId}";

    /// <summary>Hash item id → result document.</summary>
    public string Results(string batchId) => $"{Name}:results:{batchId}";

    /// <summary>Sorted set item id → number: results are read in this order, each exactly once.</summary>
    public string ResultOrder(string batchId) => $"{Name}:result-order:{batchId}";

    /// <summary>List of the batch's dead letters (JSON), oldest first.</summary>
    public string DeadLetters(string batchId) => $"{Name}:dead:{batchId}";

    /// <summary>Hash item id → result document of the raw items answered on one day (Unix ms / 86,400,000).</summary>
    public string RawResults(long day) => Results($"{BatchIds.Default}@{day}");

    /// <summary>Sorted set item id → position of the raw items answered on one day, in the order they were answered.</summary>
    public string RawResultOrder(long day) => ResultOrder($"{BatchIds.Default}@{day}");

    /// <summary>
    /// Sorted set webhook event id → when it may be taken next (Unix ms, Redis clock): when it was published, when
    /// its retry is due, or when the lease of the silo sending it runs out. Its size is the events not yet delivered.
    /// </summary>
    /// <remarks>
    /// The webhook keys are not in <c>common.lua</c>: the webhook scripts (<c>Webhooks/Scripts/</c>) are given them as
    /// their KEYS and ARGV, from here.
    /// </remarks>
    public string Webhooks => $"{Name}:webhooks";

    /// <summary>Hash of one webhook event until it is delivered or dead: its body, type, batch, when published, attempts, last error, lease token.</summary>
    public string Webhook(string eventId) => $"{Name}:webhook:{eventId}";

    /// <summary>
    /// The id of the event published for one batch and type, so publishing it again stores nothing; it expires when
    /// the batch's own keys do (<c>Queue:ResultTtl</c> after it was published).
    /// </summary>
    public string WebhookOnce(string batchId, string type) => $"{Name}:webhook-once:{batchId}:{type}";

    /// <summary>The number of the last webhook lease token given out.</summary>
    public string WebhookSequence => $"{Name}:webhook-seq";

    /// <summary>List of the webhook events given up on (JSON, oldest first), each with the reason.</summary>
    public string WebhookDead => $"{Name}:webhook-dead";

    /// <summary>The keys one batch creates, which expire together after it ends.</summary>
    public IReadOnlyList<string> OfBatch(string batchId) =>
        [Batch(batchId), BatchItems(batchId), BatchState(batchId), Results(batchId), ResultOrder(batchId), DeadLetters(batchId)];
}
