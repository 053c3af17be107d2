namespace OrleansLlm.Batches;

/// <summary>A batch as the batch store keeps it. Its spec never changes once created.</summary>
/// <param name="PromptTemplate">The batch's prompt template; null for the silo's <c>Prompt:Template</c>.</param>
/// <param name="AnswerField">The batch's answer field; null for the silo's <c>Prompt:AnswerField</c>.</param>
/// <param name="Model">The batch's model, tagged (<c>name:tag</c>); null for the silo's <c>Ollama:Model</c>.</param>
/// <param name="Options">Ollama options sent with each of its requests; null for none.</param>
/// <param name="SystemPrompt">System prompt sent with each of its requests; null for none.</param>
/// <param name="Format"><c>json</c> or a JSON Schema's text (<see cref="BatchSpec.Format"/>); null for free text.</param>
/// <param name="Priority">The batch's priority class (<see cref="BatchSpec.Priority"/>).</param>
/// <param name="CompletionWindow">How long the batch may take from its creation (<see cref="BatchSpec.CompletionWindow"/>); null for no deadline.</param>
/// <param name="Chat">Items carry <c>messages</c> for Ollama's <c>/api/chat</c> (<see cref="BatchSpec.Chat"/>).</param>
public sealed record BatchDefinition(
    string? PromptTemplate,
    string? AnswerField,
    string? Model = null,
    GenerationOptions? Options = null,
    string? SystemPrompt = null,
    string? Format = null,
    bool Chat = false,
    BatchPriority Priority = BatchPriority.Normal,
    TimeSpan? CompletionWindow = null);
