using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLlm;

/// <summary>
/// A spec's JSON: how the batch store keeps a <see cref="BatchSpec"/>, and how its <see cref="GenerationOptions"/> go
/// to Ollama. Properties are in snake case, which is Ollama's own naming of its options, and absent ones are left out.
/// </summary>
public static class SpecJson
{
    /// <summary>The options every spec's JSON is written and read with.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    public static string Write(BatchSpec spec) => JsonSerializer.Serialize(spec, Options);

    /// <exception cref="JsonException">Not a spec this class wrote.</exception>
    public static BatchSpec Read(string json) => JsonSerializer.Deserialize<BatchSpec>(json, Options) ?? throw new JsonException("a spec can't be null");

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // Prompts are text in any language: kept as they are, as every other JSON this project writes.
            Encoder = JsonText.Encoder,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
