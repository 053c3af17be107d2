namespace OrleansLlm.Batches;

/// <summary>How the figures of a batch's parts, one per partition of the queue, make the whole batch's.</summary>
public static class BatchParts
{
    /// <summary>
    /// Counts and usage add up. The batch is sealed when every part is, and ended when every part has ended (at the
    /// last one's end), so its status is completed exactly when every part's is; it is stopped as soon as a part is.
    /// A part that no longer exists (its keys expired) counts as nothing.
    /// </summary>
    public static BatchCounts Add(IReadOnlyList<BatchCounts> parts)
    {
        var existing = parts.Where(p => p.Exists).ToArray();
        // The raw items' batch never exists as such, though its parts have counts.
        var live = existing.Length > 0 ? existing : [.. parts];
        var ended = live.All(p => p.Ended is not null);
        return new BatchCounts(
            Exists: existing.Length > 0,
            Sealed: live.All(p => p.Sealed),
            Total: parts.Sum(p => p.Total),
            InFlight: parts.Sum(p => p.InFlight),
            Done: parts.Sum(p => p.Done),
            DeadLettered: parts.Sum(p => p.DeadLettered))
        {
            Priority = live[0].Priority,
            Stopped = parts.Select(p => p.Stopped).FirstOrDefault(s => s is not null),
            Removed = parts.Sum(p => p.Removed),
            Parked = parts.Sum(p => p.Parked),
            WaitingForModel = parts.Select(p => p.WaitingForModel).FirstOrDefault(m => m is not null),
            Deadline = live.Min(p => p.Deadline),
            Late = parts.Sum(p => p.Late),
            Ended = ended ? live.Max(p => p.Ended) : null,
            Expires = ended && live.All(p => p.Expires is not null) ? live.Max(p => p.Expires) : null,
            Tenant = parts.Select(p => p.Tenant).FirstOrDefault(t => t is not null),
        };
    }
}
