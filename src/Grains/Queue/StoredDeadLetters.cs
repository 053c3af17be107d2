namespace OrleansLlm.Queue;

/// <summary>A page of dead letters: JSON objects as the Lua scripts wrote them (see <see cref="DeadLetterEntry"/>).</summary>
/// <param name="Next">Where the next page starts; null after the last.</param>
public sealed record StoredDeadLetters(IReadOnlyList<string> Entries, string? Next);
