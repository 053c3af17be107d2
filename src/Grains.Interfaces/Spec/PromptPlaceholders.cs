using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrleansLlm;

/// <summary>
/// Finds the <c>{field}</c> placeholders of a prompt template. The one rule for them: the silo fills prompts by it
/// (<c>PromptTemplate</c>) and the client checks a file's columns by it before submitting anything.
/// </summary>
/// <remarks>A placeholder names a field as letters, digits and '_', not starting with a digit; other braces are text.</remarks>
public static partial class PromptPlaceholders
{
    /// <summary>Every placeholder, in order, repeats included.</summary>
    public static IReadOnlyList<PromptPlaceholder> Find(string template) =>
        [.. Pattern().Matches(template).Select(m => new PromptPlaceholder(m.Groups[1].Value, m.Index, m.Length))];

    /// <summary>The fields the template needs, each once, in order of first use.</summary>
    public static IReadOnlyList<string> Fields(string template) =>
        [.. Find(template).Select(p => p.Field).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// The text a placeholder is filled with from an item's field: a string as it is, a number or boolean as written;
    /// null for null, objects and arrays. A field whose text is null or empty can't fill a placeholder.
    /// </summary>
    public static string? TextOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => null,
    };

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Pattern();
}
