using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OllamaSim;

// Wire shapes of the OpenAI-compatible mode, as vLLM writes them: vllm/entrypoints/openai/chat_completion/protocol.py
// (ChatCompletionResponse, ChatMessage), completion/protocol.py, engine/protocol.py (UsageInfo, ErrorResponse,
// ModelCard). Requests are read as raw JSON (OpenAIRequest) so they can be recorded exactly as sent. Nulls are
// written, as pydantic does, except llama.cpp's timings, which only its flavor sends.

internal sealed record OpenAIUsage(int PromptTokens, int TotalTokens, int CompletionTokens)
{
    public JsonElement? PromptTokensDetails => null;
}

internal sealed record OpenAIMessage(string Role, string Content)
{
    public string? Refusal => null;

    public string? Reasoning => null;
}

internal sealed record OpenAIChatChoice(int Index, OpenAIMessage Message, string FinishReason)
{
    public JsonElement? Logprobs => null;

    /// <summary>vLLM's own: the stop string or token that ended generation; null at end of sequence or length.</summary>
    public string? StopReason => null;
}

internal sealed record OpenAITextChoice(int Index, string Text, string FinishReason)
{
    public JsonElement? Logprobs => null;

    public string? StopReason => null;
}

/// <summary>llama.cpp's <c>timings</c> (tools/server/server-task.cpp, result_timings::to_json); milliseconds exclude the queue wait.</summary>
internal sealed record LlamaCppTimings(
    int CacheN,
    int PromptN,
    double PromptMs,
    double PromptPerTokenMs,
    double PromptPerSecond,
    int PredictedN,
    double PredictedMs,
    double PredictedPerTokenMs,
    double PredictedPerSecond);

internal sealed record OpenAIChatCompletion([property: JsonPropertyOrder(-2)] string Id, long Created, string Model, IReadOnlyList<OpenAIChatChoice> Choices, OpenAIUsage Usage)
{
    [JsonPropertyOrder(-1)]
    public string Object => "chat.completion";

    public string? SystemFingerprint => null;

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LlamaCppTimings? Timings { get; init; }
}

internal sealed record OpenAITextCompletion([property: JsonPropertyOrder(-2)] string Id, long Created, string Model, IReadOnlyList<OpenAITextChoice> Choices, OpenAIUsage Usage)
{
    [JsonPropertyOrder(-1)]
    public string Object => "text_completion";

    public string? SystemFingerprint => null;

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LlamaCppTimings? Timings { get; init; }
}

/// <summary>A streamed chat chunk's delta: the role once, first, then the content piece by piece; empty on the last chunk.</summary>
internal sealed record OpenAIDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

internal sealed record OpenAIChatChunkChoice(int Index, OpenAIDelta Delta, string? FinishReason)
{
    public JsonElement? Logprobs => null;
}

internal sealed record OpenAITextChunkChoice(int Index, string Text, string? FinishReason)
{
    public JsonElement? Logprobs => null;
}

/// <summary>
/// One Server-Sent Event of a streamed chat (ChatCompletionStreamResponse): vLLM writes chunks without their unset
/// fields, so usage comes only on its own last chunk (with no choices) when stream_options.include_usage asks for it.
/// </summary>
internal sealed record OpenAIChatChunk([property: JsonPropertyOrder(-2)] string Id, long Created, string Model, IReadOnlyList<OpenAIChatChunkChoice> Choices)
{
    [JsonPropertyOrder(-1)]
    public string Object => "chat.completion.chunk";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OpenAIUsage? Usage { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LlamaCppTimings? Timings { get; init; }
}

/// <summary>One Server-Sent Event of a streamed text completion (CompletionStreamResponse).</summary>
internal sealed record OpenAITextChunk([property: JsonPropertyOrder(-2)] string Id, long Created, string Model, IReadOnlyList<OpenAITextChunkChoice> Choices)
{
    [JsonPropertyOrder(-1)]
    public string Object => "text_completion";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OpenAIUsage? Usage { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LlamaCppTimings? Timings { get; init; }
}

internal sealed record OpenAIModelCard(string Id, long Created, string OwnedBy, string Root, int MaxModelLen)
{
    [JsonPropertyOrder(-1)]
    public string Object => "model";

    public string? Parent => null;

    public IReadOnlyList<string> Permission => [];
}

internal sealed record OpenAIModelList(IReadOnlyList<OpenAIModelCard> Data)
{
    [JsonPropertyOrder(-1)]
    public string Object => "list";
}

/// <summary>vLLM's ErrorInfo: <c>code</c> is the HTTP status as a number.</summary>
internal sealed record OpenAIErrorInfo(string Message, string Type, string? Param, int Code);

internal sealed record OpenAIErrorBody(OpenAIErrorInfo Error);

/// <summary>FastAPI's answer to a route it does not have.</summary>
internal sealed record NotFoundDetail(string Detail);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(OpenAIChatCompletion))]
[JsonSerializable(typeof(OpenAITextCompletion))]
[JsonSerializable(typeof(OpenAIChatChunk))]
[JsonSerializable(typeof(OpenAITextChunk))]
[JsonSerializable(typeof(OpenAIModelList))]
[JsonSerializable(typeof(OpenAIErrorBody))]
[JsonSerializable(typeof(NotFoundDetail))]
internal sealed partial class OpenAIJsonContext : JsonSerializerContext
{
    /// <summary>Without HTML-safe escaping, so messages read <c>The model `x` does not exist.</c> as vLLM writes them.</summary>
    public static OpenAIJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
