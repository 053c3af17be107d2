namespace OrleansLlm;

/// <summary>What a reader needs of a <see cref="ResultDocument"/>, values as text.</summary>
/// <param name="Input">The item's fields in their order.</param>
/// <param name="AnswerField">The field the document names as holding the answer.</param>
public sealed record ResultView(
    string Id,
    string Batch,
    IReadOnlyList<KeyValuePair<string, string>> Input,
    string AnswerField,
    string Answer,
    int Attempts,
    string Silo);
