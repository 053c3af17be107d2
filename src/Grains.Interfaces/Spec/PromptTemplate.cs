using System.Text;
using System.Text.Json;

namespace OrleansLlm;

/// <summary>A prompt with <c>{field}</c> placeholders (<see cref="PromptPlaceholders"/>), filled from an item's fields.</summary>
/// <remarks>Values are inserted as data: a value that itself contains <c>{x}</c> is not expanded again.</remarks>
public sealed class PromptTemplate
{
    private readonly string _template;
    private readonly IReadOnlyList<PromptPlaceholder> _placeholders;

    private PromptTemplate(string template)
    {
        _template = template;
        _placeholders = PromptPlaceholders.Find(template);
        Fields = PromptPlaceholders.Fields(template);
    }

    /// <summary>The item fields the template needs.</summary>
    public IReadOnlyList<string> Fields { get; }

    /// <returns>Null when <paramref name="template"/> is usable, else why it isn't.</returns>
    public static string? TryParse(string? template, out PromptTemplate? parsed)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(template))
        {
            return "must not be empty.";
        }

        parsed = new PromptTemplate(template);
        return parsed.Fields.Count == 0 ? "must contain at least one {field} placeholder, e.g. {city}." : null;
    }

    public static PromptTemplate Parse(string template) =>
        TryParse(template, out var parsed) is { } error ? throw new ArgumentException($"Prompt template {error}", nameof(template)) : parsed!;

    /// <summary>Fills the placeholders from <paramref name="item"/>, a JSON object.</summary>
    /// <returns>The prompt, or null with <paramref name="missing"/> naming the first field the item lacks.</returns>
    public string? Render(JsonElement item, out string? missing)
    {
        var prompt = new StringBuilder(_template.Length + 32);
        var last = 0;
        foreach (var p in _placeholders)
        {
            if (!item.TryGetProperty(p.Field, out var value) || PromptPlaceholders.TextOf(value) is not { Length: > 0 } text)
            {
                missing = p.Field;
                return null;
            }

            prompt.Append(_template, last, p.Index - last).Append(text);
            last = p.Index + p.Length;
        }

        missing = null;
        return prompt.Append(_template, last, _template.Length - last).ToString();
    }
}
