namespace OrleansLlm;

/// <summary>What a reader needs of a <see cref="ResultDocument"/>, values as text.</summary>
/// <param name="Input">The item's fields in their order.</param>
/// <param name="AnswerField">The field the document names as holding the answer.</param>
/// <param name="Answer">The answer as text: a structured answer as the model wrote it.</param>
/// <param name="Model">The model that answered; empty in documents without it.</param>
/// <param name="Usage">Ollama's token counts and time for the answer.</param>
/// <param name="Endpoint">The Ollama call that answered (<see cref="ResultDocument.GenerateEndpoint"/> or <see cref="ResultDocument.ChatEndpoint"/>); null when the document does not say.</param>
/// <param name="DoneReason">Ollama's <c>done_reason</c>; null when the document does not say.</param>
/// <param name="CompletedAt">When the silo got the answer; null when the document does not say.</param>
public sealed record ResultView(
    string Id,
    string Batch,
    IReadOnlyList<KeyValuePair<string, string>> Input,
    string AnswerField,
    string Answer,
    int Attempts,
    string Silo,
    string Model = "",
    TokenUsage? Usage = null,
    string? Endpoint = null,
    string? DoneReason = null,
    DateTimeOffset? CompletedAt = null);
