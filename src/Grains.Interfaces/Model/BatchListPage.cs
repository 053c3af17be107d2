namespace OrleansLlm;

/// <param name="Batches">The page's batches, newest first.</param>
/// <param name="Total">How many batches there are in all (raw items' batch <see cref="BatchIds.Default"/> not counted).</param>
/// <param name="NextCursor">Pass back to read on (older batches); null after the oldest.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchListPage")]
public sealed record BatchListPage(
    [property: Id(0)] IReadOnlyList<BatchListing> Batches,
    [property: Id(1)] long Total,
    [property: Id(2)] string? NextCursor);
