using System.Text.Json;

namespace OllamaSim;

/// <summary>
/// A chat or text completion request reduced to what the simulation needs, read from the raw body and checked the
/// way vLLM's request models check it (chat_completion/protocol.py ChatCompletionRequest, completion/protocol.py):
/// wrong types and missing required fields are 400s; fields the simulation has no use for are accepted and ignored.
/// </summary>
internal sealed record OpenAIRequest(
    bool Chat,
    string? Model,
    string Question,
    string? System,
    string TokenText,
    int? MaxTokens,
    IReadOnlyList<string> Stop,
    JsonElement? Format,
    bool Stream,
    bool IncludeUsage)
{
    /// <summary>Ollama's <c>"format": "json"</c>, which json_object asks for.</summary>
    private static readonly JsonElement JsonModeFormat = JsonDocument.Parse("\"json\"").RootElement.Clone();

    /// <summary>Reads <paramref name="body"/>; throws <see cref="OpenAIError"/> (400) where vLLM would refuse it.</summary>
    public static OpenAIRequest Parse(JsonElement body, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw OpenAIError.BadRequest("Input should be a valid dictionary or object to extract fields from");
        }

        var model = OptionalString(body, "model");
        var (question, system, tokenText) = chat ? ReadMessages(body) : ReadPrompt(body);
        // max_completion_tokens is the newer name; vLLM takes it over max_tokens when both are set.
        var maxTokens = OptionalCount(body, "max_completion_tokens") ?? OptionalCount(body, "max_tokens");
        var includeUsage = body.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind == JsonValueKind.Object
            && (OptionalBool(streamOptions, "include_usage") ?? false);
        return new OpenAIRequest(
            chat, model, question, system, tokenText, maxTokens, ReadStop(body), ReadResponseFormat(body),
            OptionalBool(body, "stream") ?? false, includeUsage);
    }

    /// <summary>The answer cut as the request asks: before the first stop string, after max tokens ("length").</summary>
    public LimitedAnswer Limit(string answer) => new RequestOptions(MaxTokens, Stop).Limit(answer);

    private static (string Question, string? System, string TokenText) ReadMessages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw OpenAIError.BadRequest("messages: Field required, a list of messages", "messages");
        }

        var read = messages.EnumerateArray().Select((m, i) => ReadMessage(m, i)).ToList();
        // The answer depends on the last user message; the cost on the whole conversation, as with Ollama's chat.
        var question = read.LastOrDefault(m => m.Role == "user").Content ?? "";
        var system = read.Where(m => m.Role is "system" or "developer").Select(m => m.Content).ToList();
        return (question, system.Count == 0 ? null : string.Join("\n", system), string.Join("\n", read.Select(m => m.Content)));
    }

    private static (string Role, string Content) ReadMessage(JsonElement message, int index)
    {
        var field = $"messages.{index}";
        if (message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
        {
            throw OpenAIError.BadRequest($"{field}: a message needs a string role", field);
        }

        return (role.GetString()!, message.TryGetProperty("content", out var content) ? Text(content, field + ".content") : "");
    }

    /// <summary>A message's content: a string, or an array of parts whose text parts are joined.</summary>
    private static string Text(JsonElement content, string field) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString()!,
        JsonValueKind.Null => "",
        JsonValueKind.Array => string.Concat(content.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => throw OpenAIError.BadRequest($"{field}: Input should be a valid string or a list of content parts", field),
    };

    private static (string Question, string? System, string TokenText) ReadPrompt(JsonElement body)
    {
        if (!body.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            // vLLM: "Either prompt or prompt_embeds must be provided and non-empty."
            throw OpenAIError.BadRequest("prompt: Field required", "prompt");
        }

        var text = prompt.ValueKind switch
        {
            JsonValueKind.String => prompt.GetString()!,
            // A batch of prompts gets one choice each in vLLM; the simulator answers only a batch of one.
            JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String => prompt[0].GetString()!,
            _ => throw OpenAIError.BadRequest("prompt: the simulator takes a string (or a list of one string)", "prompt"),
        };
        return (text, null, text);
    }

    private static IReadOnlyList<string> ReadStop(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop))
        {
            return [];
        }

        return stop.ValueKind switch
        {
            JsonValueKind.Null => [],
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) =>
                stop.EnumerateArray().Select(s => s.GetString()!).ToList(),
            _ => throw OpenAIError.BadRequest("stop: Input should be a valid string or a list of strings", "stop"),
        };
    }

    /// <summary>
    /// response_format as vLLM's ResponseFormat reads it (engine/protocol.py): "text", "json_object", or "json_schema"
    /// with json_schema.schema. Returns Ollama's format value for <see cref="StructuredAnswer"/>: "json" or the schema.
    /// </summary>
    private static JsonElement? ReadResponseFormat(JsonElement body)
    {
        if (!body.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var type = format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return JsonModeFormat;
            case "json_schema":
                var holder = format.TryGetProperty("json_schema", out var js) ? js : default;
                return holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty("schema", out var schema)
                    && schema.ValueKind == JsonValueKind.Object
                    ? schema
                    : throw OpenAIError.BadRequest("response_format.json_schema: needs a name and a schema object", "response_format.json_schema");
            default:
                throw OpenAIError.BadRequest(
                    "response_format.type: Input should be 'text', 'json_object' or 'json_schema'", "response_format.type");
        }
    }

    private static string? OptionalString(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw OpenAIError.BadRequest($"{name}: Input should be a valid string", name);

    private static bool? OptionalBool(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw OpenAIError.BadRequest($"{name}: Input should be a valid boolean", name);

    /// <summary>A token count: a whole number of at least 1 (vLLM: "max_tokens must be at least 1").</summary>
    private static int? OptionalCount(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var count))
        {
            throw OpenAIError.BadRequest($"{name}: Input should be a valid integer", name);
        }

        return count >= 1 ? count : throw OpenAIError.BadRequest($"{name} must be at least 1, got {count}.", name);
    }
}
