namespace OrleansLlm.Client.Input;

/// <summary>One record of a CSV file, as <see cref="CsvReader"/> reads it.</summary>
/// <param name="Line">The line it starts on, from 1; a quoted field may carry it over more.</param>
/// <param name="BadLine">The first of its lines that can't be taken as it is (<see cref="TextLine.Error"/>), or null.</param>
public sealed record CsvRecord(int Line, IReadOnlyList<string> Fields, TextLine? BadLine);
