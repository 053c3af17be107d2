using System.Text.Encodings.Web;
using System.Text.Json;

namespace OrleansLlm;

/// <summary>How OrleansLlm writes JSON everywhere (Redis, JSON Lines exports, dead letters).</summary>
public static class JsonText
{
    /// <summary>
    /// Keeps UTF-8 text as it is (<c>São Paulo</c>, not <c>S\u00E3o Paulo</c>), so <c>grep</c> finds it; quotes,
    /// backslashes and control characters are still escaped. The output is never embedded in HTML, where the
    /// default encoder's extra escaping would matter.
    /// </summary>
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = Encoder };

    public static JsonSerializerOptions SerializerOptions { get; } = new() { Encoder = Encoder };

    /// <summary>A JSON string literal, quotes included.</summary>
    public static string Quote(string value) => JsonSerializer.Serialize(value, SerializerOptions);
}
