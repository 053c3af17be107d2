namespace OrleansLlm;

/// <summary>How a batch's items are asked: the prompt, the model and its options, the answer's format.</summary>
/// <remarks>Every item of a batch is sent with the very same model, options, system prompt and format.</remarks>
/// <param name="PromptTemplate">Prompt with <c>{field}</c> placeholders filled from each item; null for the silo's default. Unused when <paramref name="Chat"/>.</param>
/// <param name="AnswerField">Name of the field the answer is stored under; null for the silo's default.</param>
/// <param name="Model">The Ollama model, <c>name[:tag]</c>; null for the silo's <c>Ollama:Model</c>.</param>
/// <param name="Options">Ollama options sent with every request; null for none.</param>
/// <param name="SystemPrompt">System prompt sent with every request; null for none (the model's own).</param>
/// <param name="Format">
/// What the answer must be: <c>json</c> (any JSON object), or the text of a JSON Schema that every answer is checked
/// against; null for free text. It goes to Ollama as <c>format</c>.
/// </param>
/// <param name="Chat">
/// True when each item carries its own conversation in <c>messages</c> (OpenAI chat messages) and is answered by
/// Ollama's <c>/api/chat</c>; false when the template fills a prompt for <c>/api/generate</c>.
/// </param>
/// <param name="Priority">
/// The batch's priority class: workers lease from the highest class with items ready; within a class, batches take turns.
/// </param>
/// <param name="CompletionWindow">
/// How long the batch may take from its creation (the OpenAI Batch API's completion window): what is still queued then
/// is expired (removed and counted); items in flight finish. Null for no deadline.
/// </param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchSpec")]
public sealed record BatchSpec(
    [property: Id(0)] string? PromptTemplate,
    [property: Id(1)] string? AnswerField,
    [property: Id(2)] string? Model = null,
    [property: Id(3)] GenerationOptions? Options = null,
    [property: Id(4)] string? SystemPrompt = null,
    [property: Id(5)] string? Format = null,
    [property: Id(6)] bool Chat = false,
    [property: Id(7)] BatchPriority Priority = BatchPriority.Normal,
    [property: Id(8)] TimeSpan? CompletionWindow = null)
{
    /// <summary>The <see cref="Format"/> that asks for any JSON object.</summary>
    public const string JsonFormat = "json";
}
