using System.Collections;
using OrleansLlm.Queue;

namespace OrleansLlm.Telemetry;

/// <summary>
/// The log scope of one attempt at an item: every line logged while the worker holds its lease carries
/// <c>ItemId</c>, <c>BatchId</c>, <c>Silo</c>, <c>Attempt</c> and <c>LeaseId</c> as structured fields (the JSON
/// console formatter writes them under <c>Scopes</c>).
/// </summary>
/// <remarks>
/// The item is parsed for its id only when a line is actually written, so a quiet worker pays nothing for it. A
/// malformed item has no id: the field is empty, and the lease id still finds it in the dead-letter list.
/// </remarks>
public sealed class ItemScope(Lease lease, string silo, int maxItemBytes) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private ItemIdentity? _identity;

    public string LeaseId => lease.Id;

    /// <summary>The W3C traceparent the item's envelope carries, if any.</summary>
    public string? TraceParent => Envelope.TraceParentOf(lease.Payload);

    public string Silo => silo;

    /// <summary>This attempt's number: 1 for the first.</summary>
    public int Attempt => lease.FailedAttempts + 1;

    public string BatchId => Identity.BatchId;

    /// <summary>The item's id, or empty for an item too malformed to have one.</summary>
    public string ItemId => Identity.ItemId;

    public int Count => 5;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new(nameof(ItemId), ItemId),
        1 => new(nameof(BatchId), BatchId),
        2 => new(nameof(Silo), Silo),
        3 => new(nameof(Attempt), Attempt),
        4 => new(nameof(LeaseId), LeaseId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    // Read by whichever thread writes a log line; computing it twice in a race is harmless.
    private ItemIdentity Identity => _identity ??= Identify(lease.Payload, maxItemBytes);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    // A reference, so a thread reading it while another sets it sees either nothing or the whole of it.
    private sealed record ItemIdentity(string BatchId, string ItemId);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"item {ItemId} of batch {BatchId}, attempt {Attempt}, lease {LeaseId} on {Silo}";

    private static ItemIdentity Identify(string payload, int maxItemBytes)
    {
        if (QueueItem.TryParse(payload, maxItemBytes, out var item) is not null)
        {
            return new ItemIdentity(Envelope.BatchOf(payload), string.Empty);
        }

        using (item)
        {
            return new ItemIdentity(item!.BatchId, item.Id);
        }
    }
}
