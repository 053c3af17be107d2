namespace OrleansLlm.Client.Input;

/// <summary>What checking an OpenAI batch input file found (<see cref="OpenAiBatchReader.CheckAsync"/>), as one OrleansLlm batch.</summary>
/// <param name="Spec">The options every line shares: model, options, format, and chat or completions.</param>
/// <param name="ItemCount">
/// One item per line (<see cref="OpenAiBatchReader.ReadItemsAsync"/> reads them), its id the line's <c>custom_id</c>:
/// <c>{"messages":[...]}</c> or <c>{"prompt":"..."}</c>.
/// </param>
/// <param name="Errors">The first few lines that could not be taken, as <c>FILE:LINE: why</c>.</param>
/// <param name="ErrorCount">Every line that could not be taken; nothing may be submitted while there is one.</param>
/// <param name="Url">The endpoint every line names: <see cref="OpenAiBatchReader.ChatUrl"/> or <see cref="OpenAiBatchReader.CompletionsUrl"/>.</param>
/// <param name="BadLines">The same first few lines by number, with why each was refused.</param>
public sealed record OpenAiBatch(
    BatchSpec Spec, int ItemCount, IReadOnlyList<string> Errors, int ErrorCount, string? Url, IReadOnlyList<OpenAiBadLine>? BadLines = null);
