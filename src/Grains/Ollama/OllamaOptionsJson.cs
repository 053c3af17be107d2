using System.Buffers;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Ollama;

/// <summary>
/// <see cref="GenerationOptions"/> as Ollama's <c>options</c> object (<c>temperature</c>, <c>seed</c>, <c>num_ctx</c>,
/// <c>num_predict</c>, <c>stop</c>, <c>top_p</c>), which is also how the batch store keeps them.
/// </summary>
public static class OllamaOptionsJson
{
    public static string Write(GenerationOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            w.WriteStartObject();
            if (options.Temperature is { } temperature)
            {
                w.WriteNumber("temperature", temperature);
            }

            if (options.TopP is { } topP)
            {
                w.WriteNumber("top_p", topP);
            }

            if (options.Seed is { } seed)
            {
                w.WriteNumber("seed", seed);
            }

            if (options.NumCtx is { } numCtx)
            {
                w.WriteNumber("num_ctx", numCtx);
            }

            if (options.NumPredict is { } numPredict)
            {
                w.WriteNumber("num_predict", numPredict);
            }

            if (options.Stop is { Count: > 0 } stop)
            {
                w.WriteStartArray("stop");
                foreach (var s in stop)
                {
                    w.WriteStringValue(s);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <exception cref="JsonException">Not an options object this class wrote.</exception>
    public static GenerationOptions Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        return new GenerationOptions(
            root.TryGetProperty("temperature", out var t) ? t.GetDouble() : null,
            root.TryGetProperty("seed", out var s) ? s.GetInt32() : null,
            root.TryGetProperty("num_ctx", out var c) ? c.GetInt32() : null,
            root.TryGetProperty("num_predict", out var n) ? n.GetInt32() : null,
            root.TryGetProperty("stop", out var stop) ? stop.EnumerateArray().Select(e => e.GetString()!).ToArray() : null,
            root.TryGetProperty("top_p", out var p) ? p.GetDouble() : null);
    }
}
