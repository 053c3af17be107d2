namespace OrleansLlm.Silo.Batches;

/// <summary>What <c>/batches/table</c> answers: a page of batches, newest first.</summary>
/// <param name="Total">Batches in all, on every page.</param>
/// <param name="After">The batch this page starts after; null for the first page (the newest batches).</param>
/// <param name="NextCursor">The <c>after</c> of the next page (older batches); null on the last.</param>
public sealed record BatchTable(IReadOnlyList<BatchRow> Batches, long Total, string? After, string? NextCursor);
