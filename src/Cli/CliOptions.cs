using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace OrleansLlm.Cli;

/// <summary>
/// Options whose values are checked as they are parsed, so a bad value is a one-line usage error naming the option
/// and the value (System.CommandLine's own message for an unparsable <c>double?</c> names the CLR type).
/// </summary>
public static class CliOptions
{
    /// <summary>A number of at least <paramref name="min"/>.</summary>
    public static Option<double?> Number(string name, string description, double min) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r => Value(r) is { } text
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
                ? value >= min ? value : Fail<double?>(r, $"{name}: {text} is below {min.ToString(CultureInfo.InvariantCulture)}")
                : Fail<double?>(r, $"{name}: '{Value(r)}' is not a number"),
    };

    /// <summary>A whole number of at least <paramref name="min"/>.</summary>
    public static Option<int?> Count(string name, string description, int min) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r => Value(r) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value >= min ? value : Fail<int?>(r, $"{name}: {text} is below {min}")
            : Fail<int?>(r, $"{name}: '{Value(r)}' is not a whole number"),
    };

    /// <summary>A positive duration: seconds (<c>10</c>, <c>2.5s</c>), milliseconds (<c>500ms</c>), minutes (<c>1m</c>), hours (<c>2h</c>) or <c>hh:mm:ss</c>.</summary>
    public static Option<TimeSpan> Duration(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => Value(r) is { } text && ParseDuration(text) is { } value && value > TimeSpan.Zero
            ? value
            : Fail<TimeSpan>(r, $"{name}: '{Value(r)}' is not a duration (e.g. 10, 2.5s, 500ms, 1m, 2h)"),
    };

    /// <summary>One of <paramref name="values"/>.</summary>
    public static Option<string> OneOf(string name, string description, IReadOnlyList<string> values) => new(name)
    {
        Description = description,
        HelpName = string.Join("|", values),
        DefaultValueFactory = _ => values[0],
        CustomParser = r => Value(r) is { } text && values.Contains(text, StringComparer.Ordinal)
            ? text
            : Fail<string>(r, $"{name}: '{Value(r)}' is not one of {string.Join(", ", values)}"),
    };

    /// <summary>A CSV delimiter: one character, or <c>tab</c>.</summary>
    public static Option<char?> Delimiter(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "CHAR",
        CustomParser = r => Value(r) switch
        {
            "tab" or "\\t" or "\t" => '\t',
            [var c] when c is not ('"' or '\r' or '\n') => c,
            var text => Fail<char?>(r, $"{name}: '{text}' is not a delimiter: give one character, or 'tab'"),
        },
    };

    /// <summary>Text that <paramref name="check"/> accepts (it returns null), else the one-line reason it gives.</summary>
    public static Option<string?> Text(string name, string description, Func<string, string?> check) => new(name)
    {
        Description = description,
        CustomParser = r =>
        {
            var text = Value(r) ?? string.Empty;
            return check(text) is { } error ? Fail<string?>(r, $"{name}: {error}") : text;
        },
    };

    private static string? Value(ArgumentResult result) =>
        result.Tokens.Count == 1 ? result.Tokens[0].Value : null;

    private static T Fail<T>(ArgumentResult result, string error)
    {
        result.AddError(error);
        return default!;
    }

    private static TimeSpan? ParseDuration(string text)
    {
        var ic = CultureInfo.InvariantCulture;
        if (text.Contains(':') && TimeSpan.TryParse(text, ic, out var span))
        {
            return span;
        }

        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        return double.TryParse(number, NumberStyles.Float, ic, out var value) && double.IsFinite(value) && value * unit < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(value * unit)
            : null;
    }
}
