using Microsoft.Extensions.Options;

namespace OrleansLlm.Options;

/// <summary>The prompt used for raw items and for batches that don't bring their own. Section <c>Prompt</c>.</summary>
public sealed class PromptOptions
{
    public const string Section = "Prompt";

    /// <summary>The workshop's prompt.</summary>
    public const string DefaultTemplate =
        "Who is the mayor of {city}? Just give the name by itself on a single line. If you don't know, don't say anything.";

    /// <summary>Prompt with <c>{field}</c> placeholders filled from the item. Default: the workshop's mayor prompt.</summary>
    public string Template { get; set; } = DefaultTemplate;

    /// <summary>Field of the result that holds the answer. Default: <c>mayor</c>.</summary>
    public string AnswerField { get; set; } = "mayor";
}

public sealed class PromptOptionsValidator : IValidateOptions<PromptOptions>
{
    public ValidateOptionsResult Validate(string? name, PromptOptions o)
    {
        var failures = new List<string>();
        if (PromptTemplate.TryParse(o.Template, out _) is { } error)
        {
            failures.Add($"{PromptOptions.Section}:{nameof(o.Template)} {error}");
        }

        if (AnswerFields.Check(o.AnswerField) is { } fieldError)
        {
            failures.Add($"{PromptOptions.Section}:{nameof(o.AnswerField)}: {fieldError}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
