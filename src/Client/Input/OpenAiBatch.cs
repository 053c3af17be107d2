namespace OrleansLlm.Client.Input;

/// <summary>What an OpenAI batch input file holds, as one OrleansLlm batch.</summary>
/// <param name="Spec">The options every line shares: model, options, format, and chat or completions.</param>
/// <param name="Items">One item per line, its id the line's <c>custom_id</c>: <c>{"messages":[...]}</c> or <c>{"prompt":"..."}</c>.</param>
/// <param name="Errors">Every line that could not be taken, as <c>FILE:LINE: why</c>; nothing may be submitted while there are any.</param>
/// <param name="Url">The endpoint every line names: <see cref="OpenAiBatchReader.ChatUrl"/> or <see cref="OpenAiBatchReader.CompletionsUrl"/>.</param>
public sealed record OpenAiBatch(BatchSpec Spec, IReadOnlyList<BatchItem> Items, IReadOnlyList<string> Errors, string? Url);
