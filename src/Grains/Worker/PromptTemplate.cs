using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrleansLlm.Worker;

/// <summary>A prompt with <c>{field}</c> placeholders, filled from an item's fields.</summary>
/// <remarks>Values are inserted as data: a value that itself contains <c>{x}</c> is not expanded again.</remarks>
public sealed partial class PromptTemplate
{
    private readonly string _template;
    private readonly MatchCollection _placeholders;

    private PromptTemplate(string template)
    {
        _template = template;
        _placeholders = Placeholder().Matches(template);
        Fields = _placeholders.Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToArray();
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
        foreach (Match m in _placeholders)
        {
            var field = m.Groups[1].Value;
            if (!item.TryGetProperty(field, out var value) || ToText(value) is not { Length: > 0 } text)
            {
                missing = field;
                return null;
            }

            prompt.Append(_template, last, m.Index - last).Append(text);
            last = m.Index + m.Length;
        }

        missing = null;
        return prompt.Append(_template, last, _template.Length - last).ToString();
    }

    private static string? ToText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => null,
    };

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();
}
