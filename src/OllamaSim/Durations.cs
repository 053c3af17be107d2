using System.Globalization;

namespace OllamaSim;

/// <summary>Parses durations written like Ollama's keep_alive: "500ms", "2s", "1.5m", "1h" or plain seconds.</summary>
public static class Durations
{
    public static TimeSpan Parse(string text, string what = "duration")
    {
        var s = text.Trim().ToLowerInvariant();
        var (number, unitSeconds) =
            s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 0.001) :
            s.EndsWith('s') ? (s[..^1], 1.0) :
            s.EndsWith('m') ? (s[..^1], 60.0) :
            s.EndsWith('h') ? (s[..^1], 3600.0) :
            (s, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw new ArgumentException($"{what}: '{text}' is not a duration (try 2s, 500ms or 1.5)");
        }

        if (value < 0)
        {
            throw new ArgumentException($"{what} must not be negative (got '{text}')");
        }

        return TimeSpan.FromSeconds(value * unitSeconds);
    }
}
