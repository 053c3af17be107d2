namespace OrleansLlm.Client.Input;

/// <summary>Keeps or leaves out a source's rows by one field of theirs, before anything is checked or sent.</summary>
/// <param name="Field">
/// The field it reads. A CSV without that column, or a JSON Lines file none of whose first objects has it, is refused
/// whole: a filter that can never match is a mistake, not an empty batch.
/// </param>
/// <param name="Purpose">What the filter is for, in messages: "no column 'population' for <c>the population filter</c>".</param>
/// <param name="SkipReason">
/// Given the row's text for <paramref name="Field"/> (null when the row has none), why the row is left out, or null to
/// keep it. Rows left out are counted by this reason.
/// </param>
public sealed record RowFilter(string Field, string Purpose, Func<string?, string?> SkipReason);
