namespace OrleansLlm;

/// <summary>What Ollama did for an item or a whole batch, by its own figures.</summary>
/// <param name="PromptTokens">Prompt tokens evaluated (Ollama's <c>prompt_eval_count</c>).</param>
/// <param name="CompletionTokens">Tokens generated (Ollama's <c>eval_count</c>).</param>
/// <param name="OllamaTime">Ollama's <c>total_duration</c>: from each request's arrival to its answer, its wait for a slot included.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.TokenUsage")]
public sealed record TokenUsage(
    [property: Id(0)] long PromptTokens,
    [property: Id(1)] long CompletionTokens,
    [property: Id(2)] TimeSpan OllamaTime)
{
    public static TokenUsage Zero { get; } = new(0, 0, TimeSpan.Zero);

    public long TotalTokens => PromptTokens + CompletionTokens;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.PromptTokens + b.PromptTokens, a.CompletionTokens + b.CompletionTokens, a.OllamaTime + b.OllamaTime);
}
