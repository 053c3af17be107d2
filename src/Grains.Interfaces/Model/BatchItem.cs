namespace OrleansLlm;

/// <param name="Id">The item's id: unique within its batch, and the key of its result.</param>
/// <param name="Json">The item itself, a JSON object.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchItem")]
public sealed record BatchItem(
    [property: Id(0)] string Id,
    [property: Id(1)] string Json);
