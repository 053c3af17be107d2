namespace OrleansLlm;

/// <param name="Results">Result documents, one JSON object each.</param>
/// <param name="NextCursor">Pass back to get the next page; null when there is none.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.ResultPage")]
public sealed record ResultPage(
    [property: Id(0)] IReadOnlyList<string> Results,
    [property: Id(1)] string? NextCursor);
