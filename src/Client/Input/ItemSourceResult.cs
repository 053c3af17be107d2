namespace OrleansLlm.Client.Input;

/// <summary>
/// What reading a source produced: the items to submit, every row that could not be read, and every row left out,
/// with why, so nothing is dropped without a word.
/// </summary>
/// <param name="RowsRead">Rows (CSV) or objects (JSON Lines) read, bad ones included.</param>
public sealed record ItemSourceResult(IReadOnlyList<BatchItem> Items, IReadOnlyList<string> Errors, int RowsRead)
{
    /// <summary>The header's columns (CSV), or the fields of the first objects (JSON Lines).</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];

    /// <summary>Rows the filter left out, by reason (e.g. a population below the minimum).</summary>
    public IReadOnlyList<LeftOutRows> Skipped { get; init; } = [];

    /// <summary>Rows refused because they lack what the batch needs, by reason (e.g. no value for a placeholder).</summary>
    public IReadOnlyList<LeftOutRows> Rejected { get; init; } = [];

    /// <summary>True when reading stopped at the filter's limit, with rows possibly left unread.</summary>
    public bool LimitReached { get; init; }

    /// <summary>The CSV delimiter used; null for JSON Lines.</summary>
    public char? Delimiter { get; init; }

    public int SkippedCount => Skipped.Sum(s => s.Count);

    public int RejectedCount => Rejected.Sum(r => r.Count);
}
