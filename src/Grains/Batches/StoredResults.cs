namespace OrleansLlm.Batches;

/// <summary>A page of a batch's result documents, in order (submission order for batches, completion order for raw items).</summary>
/// <param name="Next">Where the next page starts; null when nothing is stored past this page yet.</param>
public sealed record StoredResults(IReadOnlyList<string> Documents, string? Next);
