namespace OrleansLlm;

/// <param name="DeadLetters">The page's dead letters, oldest first; may be empty while <paramref name="NextCursor"/> is not.</param>
/// <param name="NextCursor">Pass back to read on; null at the end of the list.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.DeadLetterPage")]
public sealed record DeadLetterPage(
    [property: Id(0)] IReadOnlyList<DeadLetter> DeadLetters,
    [property: Id(1)] string? NextCursor);
