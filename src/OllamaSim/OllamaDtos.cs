using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OllamaSim;

// Wire shapes of the Ollama API (docs/api.md and api/types.go in ollama/ollama). Names become snake_case
// through OllamaJsonContext; request fields the simulation has no use for (images, tools, think, ...) are ignored.
// Options, format and keep_alive stay raw JSON: they are recorded as sent and checked the way Ollama checks them.

internal sealed class GenerateRequest
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public string? System { get; set; }
    public bool? Stream { get; set; }

    /// <summary>A duration string ("5m") or a number of seconds; 0 unloads the model after the request.</summary>
    public JsonElement? KeepAlive { get; set; }

    /// <summary>"json" or a JSON schema object.</summary>
    public JsonElement? Format { get; set; }

    /// <summary>Model parameters such as num_ctx, temperature, num_predict and stop.</summary>
    public JsonElement? Options { get; set; }

    /// <summary>The context returned by an earlier generate (deprecated in Ollama, still honoured).</summary>
    public List<int>? Context { get; set; }

    /// <summary>No prompt template: Ollama then returns no context.</summary>
    public bool? Raw { get; set; }
}

internal sealed class ChatRequest
{
    public string? Model { get; set; }
    public List<ChatMessage>? Messages { get; set; }
    public bool? Stream { get; set; }
    public JsonElement? KeepAlive { get; set; }
    public JsonElement? Format { get; set; }
    public JsonElement? Options { get; set; }
}

/// <summary>Body of /api/embed: input is a string or an array of strings.</summary>
internal sealed class EmbedRequest
{
    public string? Model { get; set; }
    public JsonElement? Input { get; set; }
    public bool? Truncate { get; set; }
    public int? Dimensions { get; set; }
    public JsonElement? KeepAlive { get; set; }
    public JsonElement? Options { get; set; }
}

/// <summary>Body of the older /api/embeddings.</summary>
internal sealed class EmbeddingRequest
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public JsonElement? KeepAlive { get; set; }
    public JsonElement? Options { get; set; }
}

internal sealed class CopyRequest
{
    public string? Source { get; set; }
    public string? Destination { get; set; }
}

internal sealed class ChatMessage
{
    public string? Role { get; set; }
    public string? Content { get; set; }
}

/// <summary>Body of show, pull and delete: Ollama accepts "model" and the older "name".</summary>
internal sealed class ModelRequest
{
    public string? Model { get; set; }
    public string? Name { get; set; }
    public bool? Stream { get; set; }
}

/// <summary>Fields shared by generate and chat responses; the statistics are only set on the final object.</summary>
internal abstract class CompletionResponse
{
    [JsonPropertyOrder(-3)]
    public required string Model { get; init; }

    [JsonPropertyOrder(-2)]
    public required DateTime CreatedAt { get; init; }

    public bool Done { get; init; }
    public string? DoneReason { get; set; }
    public long? TotalDuration { get; set; }
    public long? LoadDuration { get; set; }
    public int? PromptEvalCount { get; set; }
    public long? PromptEvalDuration { get; set; }
    public int? EvalCount { get; set; }
    public long? EvalDuration { get; set; }
}

internal sealed class GenerateResponse : CompletionResponse
{
    [JsonPropertyOrder(-1)]
    public required string Response { get; init; }

    /// <summary>Token ids of the prompt and the answer, on the final object only; see <see cref="SimulatedModel.ContextFor"/>.</summary>
    [JsonPropertyOrder(1)]
    public IReadOnlyList<int>? Context { get; set; }
}

internal sealed class ChatResponse : CompletionResponse
{
    [JsonPropertyOrder(-1)]
    public required ChatMessage Message { get; init; }
}

internal sealed record ErrorResponse(string Error);

internal sealed record VersionResponse(string Version);

internal sealed record ModelDetails(
    string ParentModel, string Format, string Family, string[] Families, string ParameterSize, string QuantizationLevel);

internal sealed record TagModel(string Name, string Model, DateTime ModifiedAt, long Size, string Digest, ModelDetails Details);

internal sealed record TagsResponse(List<TagModel> Models);

internal sealed record RunningModel(
    string Name, string Model, long Size, string Digest, ModelDetails Details, DateTime ExpiresAt, long SizeVram, int ContextLength);

internal sealed record PsResponse(List<RunningModel> Models);

internal sealed record ShowModelInfo(
    [property: JsonPropertyName("general.architecture")] string Architecture,
    [property: JsonPropertyName("general.parameter_count")] long ParameterCount,
    [property: JsonPropertyName("general.file_type")] int FileType,
    [property: JsonPropertyName("general.quantization_version")] int QuantizationVersion);

internal sealed record ShowResponse(
    string License, string Modelfile, string Parameters, string Template, ModelDetails Details,
    ShowModelInfo ModelInfo, string[] Capabilities, DateTime ModifiedAt);

internal sealed record PullProgress(string Status, string? Digest = null, long? Total = null, long? Completed = null);

internal sealed record EmbedResponse(string Model, float[][] Embeddings, long? TotalDuration = null, long? LoadDuration = null, int? PromptEvalCount = null);

internal sealed record EmbeddingResponse(double[] Embedding);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerateRequest))]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ModelRequest))]
[JsonSerializable(typeof(GenerateResponse))]
[JsonSerializable(typeof(ChatResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(TagsResponse))]
[JsonSerializable(typeof(PsResponse))]
[JsonSerializable(typeof(ShowResponse))]
[JsonSerializable(typeof(PullProgress))]
[JsonSerializable(typeof(EmbedRequest))]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(CopyRequest))]
[JsonSerializable(typeof(EmbedResponse))]
[JsonSerializable(typeof(EmbeddingResponse))]
internal sealed partial class OllamaJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Like <see cref="JsonSerializerContext"/>'s Default but without HTML-safe escaping, so error messages
    /// read <c>model "x" not found</c> rather than <c>model \u0022x\u0022 not found</c>.
    /// </summary>
    public static OllamaJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
