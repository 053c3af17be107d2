namespace OrleansLlm;

/// <summary>One <c>{field}</c> placeholder of a prompt template.</summary>
/// <param name="Field">The item field it is filled from.</param>
/// <param name="Index">Where the placeholder starts in the template, at its <c>{</c>.</param>
/// <param name="Length">Its length, braces included.</param>
public readonly record struct PromptPlaceholder(string Field, int Index, int Length);
