using System.Text.Json;

namespace OllamaSim;

/// <summary>
/// What one generate, chat or embedding request asked for, as the client sent it, so tests can assert what a
/// product sends to Ollama. JSON values (<see cref="Options"/>, <see cref="Format"/>, <see cref="KeepAlive"/>)
/// are kept raw; null means the field was absent.
/// </summary>
public sealed record RecordedRequest
{
    /// <summary>1 for the first request the simulator recorded, counting on across clears, so <c>since</c> queries stay valid.</summary>
    public long Sequence { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>"/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/v1/chat/completions" or "/v1/completions".</summary>
    public required string Path { get; init; }

    public string? Model { get; init; }

    /// <summary>The generate prompt, the last user message of a chat, the embeddings prompt, or the first embed input.</summary>
    public string? Prompt { get; init; }

    /// <summary>The generate <c>system</c> field, or a chat's system messages joined by newlines.</summary>
    public string? System { get; init; }

    /// <summary>The <c>stream</c> field as sent; Ollama streams when it is absent.</summary>
    public bool? Stream { get; init; }

    /// <summary>The <c>options</c> object, e.g. <c>{"num_thread":4,"temperature":0}</c>.</summary>
    public JsonElement? Options { get; init; }

    /// <summary>The <c>format</c> value: "json" or a JSON schema (for OpenAI requests, what response_format asks for in those terms).</summary>
    public JsonElement? Format { get; init; }

    /// <summary>The <c>keep_alive</c> value: a duration string or a number of seconds.</summary>
    public JsonElement? KeepAlive { get; init; }

    /// <summary>
    /// OpenAI-compatible requests only: the whole body as sent (model, messages, max_tokens, response_format,
    /// temperature, ...); null for Ollama's routes, or when the body was not JSON.
    /// </summary>
    public JsonElement? Body { get; init; }
}
