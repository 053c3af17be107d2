namespace OrleansLlm.Client.Input;

/// <summary>Which rows of a source to submit.</summary>
/// <param name="Keep">Which rows to keep, by one of their fields (e.g. <see cref="PopulationFilter"/>); null keeps every row.</param>
/// <param name="Limit">Keep at most this many rows (after <paramref name="Keep"/>).</param>
public sealed record ItemFilter(RowFilter? Keep = null, int? Limit = null);
