namespace OrleansLlm;

/// <summary>How a batch's items are asked: the prompt, the model and its options, the answer's format.</summary>
/// <remarks>
/// The one shape of a batch's spec: the CLI builds it, <see cref="Check"/> is its one validator, the batch store keeps
/// it as one JSON value (<see cref="SpecJson"/>), and the worker reads it back. Adding a field means adding it here, to
/// <see cref="Check"/> when it can be wrong, and to the code that uses it. Every item of a batch is sent with the very
/// same model, options, system prompt and format.
/// </remarks>
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
/// <param name="Tenant">
/// The API tenant whose batch it is; null for a batch the CLI submitted. Not how items are asked, but kept with the
/// spec so the batch's own hash carries it, and whoever reads a batch's progress (the CLI, the batches page) sees it.
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
    [property: Id(8)] TimeSpan? CompletionWindow = null,
    [property: Id(9)] string? Tenant = null)
{
    /// <summary>The <see cref="Format"/> that asks for any JSON object.</summary>
    public const string JsonFormat = "json";

    /// <summary>
    /// The spec as it is stored and compared: the model tagged (<c>qwen2</c> is <c>qwen2:latest</c>), no empty options.
    /// </summary>
    public BatchSpec Normalised() => this with
    {
        Model = Model is { } model ? ModelNames.WithTag(model) : null,
        Options = Options is { IsEmpty: false } options ? options : null,
    };

    /// <summary>
    /// The one check of a spec, which the CLI runs before it connects and the batch grain before it stores anything.
    /// </summary>
    /// <returns>Null when the spec is usable, else the first thing wrong with it, in one line.</returns>
    public string? Check()
    {
        if (PromptTemplate is { } template && OrleansLlm.PromptTemplate.TryParse(template, out _) is { } error)
        {
            return $"The prompt template {error}";
        }

        if (Chat && PromptTemplate is not null)
        {
            return "A chat batch takes each item's messages as they are; it has no prompt template.";
        }

        if (AnswerField is { } field && AnswerFields.Check(field) is { } fieldError)
        {
            return fieldError;
        }

        if (Model is { } model && (string.IsNullOrWhiteSpace(model) || model.Any(char.IsWhiteSpace)))
        {
            return $"'{model}' can't be a model name: use Ollama's name[:tag], e.g. qwen2:1.5b.";
        }

        if (Options?.Check() is { Count: > 0 } optionErrors)
        {
            return $"Bad options: {string.Join("; ", optionErrors)}.";
        }

        if (CompletionWindow is { } window && window <= TimeSpan.Zero)
        {
            return $"The deadline must be in the future, not {window} from now.";
        }

        if (SystemPrompt is { Length: 0 })
        {
            return "The system prompt is empty; leave it out instead.";
        }

        return Format is { } format && AnswerFormat.TryParse(format, out _) is { } formatError
            ? $"Bad format: {formatError}."
            : null;
    }
}
