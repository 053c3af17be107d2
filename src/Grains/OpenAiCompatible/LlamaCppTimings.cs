using System.Text.Json;

namespace OrleansLlm.OpenAiCompatible;

/// <summary>
/// The <c>timings</c> object llama.cpp's server adds to each answer (tools/server/server-task.cpp,
/// <c>result_timings::to_json</c>: <c>prompt_n</c>, <c>prompt_ms</c>, <c>predicted_n</c>, <c>predicted_ms</c>, …): the
/// server's own time on the request, as Ollama's durations are, so what the request's whole time holds beyond it is its wait.
/// </summary>
public readonly record struct LlamaCppTimings(TimeSpan Prompt, TimeSpan Predicted)
{
    private static ReadOnlySpan<byte> Marker => "\"timings\""u8;

    /// <summary>The timings in a chat completion's body; null when it has none (vLLM, SGLang, a plain server).</summary>
    public static LlamaCppTimings? Read(BinaryData body)
    {
        // Most servers send none: look for the name before parsing the body a second time.
        if (body.ToMemory().Span.IndexOf(Marker) < 0)
        {
            return null;
        }

        using var document = JsonDocument.Parse(body.ToMemory());
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("timings", out var timings)
            && Milliseconds(timings, "prompt_ms") is { } prompt
            && Milliseconds(timings, "predicted_ms") is { } predicted
                ? new LlamaCppTimings(prompt, predicted)
                : null;
    }

    private static TimeSpan? Milliseconds(JsonElement timings, string name) =>
        timings.ValueKind == JsonValueKind.Object && timings.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var ms) && double.IsFinite(ms) && ms >= 0
            ? TimeSpan.FromMilliseconds(ms)
            : null;
}
