namespace OrleansLlm.Inference;

/// <summary>
/// One answer from the backend with the figures about the work, in Ollama's terms (the first backend): an
/// OpenAI-compatible backend fills the same fields from what its server tells (<see cref="Signal"/>).
/// </summary>
/// <param name="TotalDuration">Ollama's <c>total_duration</c>: from the request's arrival to its end.</param>
/// <param name="EvalCount">Ollama's <c>eval_count</c>: tokens generated.</param>
/// <param name="EvalDuration">Ollama's <c>eval_duration</c>.</param>
/// <param name="LoadDuration">Ollama's <c>load_duration</c>.</param>
/// <param name="PromptEvalDuration">Ollama's <c>prompt_eval_duration</c>.</param>
/// <param name="PromptEvalCount">Ollama's <c>prompt_eval_count</c>: prompt tokens.</param>
/// <param name="DoneReason">Ollama's <c>done_reason</c>: <c>stop</c>, or <c>length</c> when cut at <c>num_predict</c>.</param>
/// <param name="Signal">How much <see cref="QueueWait"/> can be trusted; <see cref="QueueSignal.None"/> when it is unknown (then 0).</param>
public sealed record Generation(
    string Text,
    TimeSpan TotalDuration,
    int EvalCount,
    TimeSpan EvalDuration,
    TimeSpan LoadDuration = default,
    TimeSpan PromptEvalDuration = default,
    int PromptEvalCount = 0,
    string? DoneReason = null,
    QueueSignal Signal = QueueSignal.Durations)
{
    /// <summary>
    /// Time the request spent waiting inside Ollama for a free slot. Ollama counts that wait in
    /// <c>total_duration</c> but in none of its parts, so it is what is left over: the one signal that we send
    /// more than the model serves in parallel (Ollama never pushes back; it queues silently).
    /// </summary>
    public TimeSpan QueueWait => TotalDuration - LoadDuration - PromptEvalDuration - EvalDuration is { Ticks: > 0 } wait ? wait : TimeSpan.Zero;

    /// <summary>Time the model spent on this request (prompt and generation).</summary>
    public TimeSpan ServiceTime => PromptEvalDuration + EvalDuration;

    /// <summary>Ollama's figures as token usage.</summary>
    public TokenUsage Usage => new(PromptEvalCount, EvalCount, TotalDuration);
}
