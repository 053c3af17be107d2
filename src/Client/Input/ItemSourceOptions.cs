namespace OrleansLlm.Client.Input;

/// <summary>How to read a source, and what each item must have.</summary>
public sealed record ItemSourceOptions
{
    /// <summary>Which rows to submit. Default: all of them.</summary>
    public ItemFilter Filter { get; init; } = new();

    /// <summary>The CSV delimiter. Default: null, detected from the header row (<see cref="CsvReader.DetectDelimiter"/>).</summary>
    public char? Delimiter { get; init; }

    /// <summary>
    /// The field holding each item's id. Default: null, for <c>id</c> when an item has one, else an id derived from
    /// the item's content (<see cref="ItemIds.FromContent"/>).
    /// </summary>
    public string? IdField { get; init; }

    /// <summary>Fields every item needs a value for: the prompt's placeholders. Default: none.</summary>
    public IReadOnlyList<string> RequiredFields { get; init; } = [];
}
