namespace OrleansLlm.Batches;

/// <summary>A page of a batch's result documents, in ordinal order (submission order for batches, completion order for raw items).</summary>
/// <param name="LastOrdinal">The ordinal of the last result; the next page starts after it. Null when the page is empty.</param>
public sealed record StoredResults(IReadOnlyList<string> Documents, long? LastOrdinal);
