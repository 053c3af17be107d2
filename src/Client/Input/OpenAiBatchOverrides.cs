namespace OrleansLlm.Client.Input;

/// <summary>
/// What the command line sets for a whole OpenAI batch file. Each value given replaces the file's, so the file's
/// lines need not agree on it (a file written for <c>gpt-4o-mini</c> runs on <c>--model qwen2:1.5b</c>).
/// </summary>
public sealed record OpenAiBatchOverrides(
    string? Model = null,
    GenerationOptions? Options = null,
    string? SystemPrompt = null,
    string? Format = null,
    string? AnswerField = null);
