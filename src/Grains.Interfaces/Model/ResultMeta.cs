namespace OrleansLlm;

/// <summary>How a result came about: the <c>meta</c> object of a <see cref="ResultDocument"/>.</summary>
/// <param name="AnswerField">The top-level field that holds the answer.</param>
/// <param name="Attempts">Attempts it took, this one included.</param>
/// <param name="Silo">The silo whose Ollama answered.</param>
/// <param name="TotalDurationNs">Ollama's <c>total_duration</c> in nanoseconds, queue wait included.</param>
/// <param name="PromptEvalCount">Ollama's <c>prompt_eval_count</c>: prompt tokens.</param>
/// <param name="EvalCount">Ollama's <c>eval_count</c>: tokens generated.</param>
/// <param name="Endpoint">The Ollama call that answered: <see cref="ResultDocument.GenerateEndpoint"/> or <see cref="ResultDocument.ChatEndpoint"/>; null in documents from before it was recorded.</param>
/// <param name="DoneReason">Ollama's <c>done_reason</c>: <c>stop</c>, or <c>length</c> when the answer was cut at the batch's token limit.</param>
/// <remarks>
/// The durations and token counts add up every Ollama call the answer took: two when a structured answer that broke
/// its schema was asked again.
/// </remarks>
public sealed record ResultMeta(
    string AnswerField,
    string Model,
    int Attempts,
    string Silo,
    long TotalDurationNs,
    int PromptEvalCount,
    int EvalCount,
    DateTimeOffset CompletedAt,
    string? Endpoint = null,
    string? DoneReason = null);
