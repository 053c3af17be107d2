namespace OrleansLlm.Client.Input;

/// <summary>
/// What checking a source found (<see cref="ItemSource.CheckAsync"/>): how many items it gives, every row that could
/// not be read, and every row left out, with why, so nothing is dropped without a word. It holds no item, and only the
/// first few messages, so it stays small however large the file.
/// </summary>
/// <param name="ItemCount">The items to submit.</param>
/// <param name="Errors">The first few rows that could not be read (20), as <c>FILE:LINE: why</c>.</param>
/// <param name="ErrorCount">Every row that could not be read; nothing may be submitted while there is one.</param>
/// <param name="RowsRead">Rows (CSV) or objects (JSON Lines) read, bad ones included.</param>
public sealed record ItemSourceResult(int ItemCount, IReadOnlyList<string> Errors, int ErrorCount, int RowsRead)
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
