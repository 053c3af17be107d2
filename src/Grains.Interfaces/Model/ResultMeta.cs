namespace OrleansLlm;

/// <summary>How a result came about: the <c>meta</c> object of a <see cref="ResultDocument"/>.</summary>
/// <param name="AnswerField">The top-level field that holds the answer.</param>
/// <param name="Attempts">Attempts it took, this one included.</param>
/// <param name="Silo">The silo whose Ollama answered.</param>
/// <param name="TotalDurationNs">Ollama's <c>total_duration</c> in nanoseconds, queue wait included.</param>
/// <param name="PromptEvalCount">Ollama's <c>prompt_eval_count</c>: prompt tokens.</param>
/// <param name="EvalCount">Ollama's <c>eval_count</c>: tokens generated.</param>
public sealed record ResultMeta(
    string AnswerField,
    string Model,
    int Attempts,
    string Silo,
    long TotalDurationNs,
    int PromptEvalCount,
    int EvalCount,
    DateTimeOffset CompletedAt);
