using System.Globalization;
using System.Text.Json;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Api.Batches;

/// <summary>The body of <c>POST /v1/batches</c>, read as OpenAI reads it: the fields it knows, the others ignored.</summary>
public sealed record CreateBatchBody(string InputFileId, string Endpoint, string CompletionWindow, TimeSpan Window, IReadOnlyDictionary<string, string> Metadata)
{
    /// <returns>The body, or the field that is wrong and why.</returns>
    public static (CreateBatchBody? Body, string? Param, string? Error) Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, null, "The body must be a JSON object.");
        }

        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (Text("input_file_id") is not { Length: > 0 } input)
        {
            return (null, "input_file_id", "input_file_id is required: the id of a file uploaded with purpose 'batch'.");
        }

        var endpoint = Text("endpoint");
        if (endpoint is not (OpenAiBatchReader.ChatUrl or OpenAiBatchReader.CompletionsUrl))
        {
            return (null, "endpoint", $"endpoint must be {OpenAiBatchReader.ChatUrl} or {OpenAiBatchReader.CompletionsUrl} (was '{endpoint}').");
        }

        var windowText = Text("completion_window") ?? "24h";
        if (ParseWindow(windowText) is not { } window)
        {
            return (null, "completion_window", $"completion_window must be a duration such as 24h, 90m or 7d (was '{windowText}').");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in m.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, $"metadata.{p.Name}", $"metadata.{p.Name} must be a string.");
                }

                metadata[p.Name] = p.Value.GetString()!;
            }
        }
        else if (m.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            return (null, "metadata", "metadata must be an object of strings.");
        }

        return (new CreateBatchBody(input, endpoint, windowText, window, metadata), null, null);
    }

    /// <summary>OpenAI's <c>24h</c>, and any other whole number of seconds, minutes, hours or days.</summary>
    private static TimeSpan? ParseWindow(string text) =>
        text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n < 100_000
            ? text[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            }
            : null;
}
