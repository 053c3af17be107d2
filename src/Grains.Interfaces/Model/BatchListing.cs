namespace OrleansLlm;

/// <summary>One batch in the list of batches: its id and when it was created (by Redis' clock).</summary>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchListing")]
public sealed record BatchListing(
    [property: Id(0)] string BatchId,
    [property: Id(1)] DateTimeOffset Created);
