namespace OrleansLlm.Client.Input;

/// <summary>Rows of a source left out for one reason.</summary>
/// <param name="Reason">Why, e.g. "without a population" or "with no value for city".</param>
/// <param name="FirstLines">The lines of the first few of them.</param>
public sealed record LeftOutRows(string Reason, int Count, IReadOnlyList<int> FirstLines);
