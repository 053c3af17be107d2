namespace OrleansLlm.Batches;

/// <summary>A page of the dead-letter list: JSON objects as the Lua scripts wrote them (see <see cref="DeadLetterEntry"/>).</summary>
/// <param name="Length">How long the whole list is now.</param>
public sealed record StoredDeadLetters(IReadOnlyList<string> Entries, long Length);
