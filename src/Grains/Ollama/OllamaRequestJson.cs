using System.Buffers;
using System.Text.Json;
using OrleansLlm.Inference;

namespace OrleansLlm.Ollama;

/// <summary>
/// The body of a non-streamed <c>/api/generate</c> or <c>/api/chat</c> request (docs/api.md): the fields OllamaSharp's
/// <c>GenerateRequest</c> and <c>ChatRequest</c> sent for us, written straight to UTF-8.
/// </summary>
/// <remarks>
/// Text is kept as it is (<see cref="JsonText.WriterOptions"/>), as OllamaSharp's relaxed encoder did. The options
/// object comes already written (<paramref name="options"/> below): a batch's are the same for all its items.
/// </remarks>
public static class OllamaRequestJson
{
    // Room for the names, the options and the escapes beside the text, so most bodies need no second buffer.
    private const int Slack = 512;

    /// <summary><c>model</c>, <c>prompt</c>, <c>system</c>, <c>options</c>, <c>format</c>, <c>"stream": false</c>.</summary>
    public static ReadOnlyMemory<byte> Generate(InferenceRequest request, byte[]? options)
    {
        var body = new ArrayBufferWriter<byte>(Slack + (request.Prompt?.Length ?? 0) + (request.System?.Length ?? 0) + (options?.Length ?? 0));
        using (var json = new Utf8JsonWriter(body, JsonText.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("model"u8, request.Model);
            json.WriteString("prompt"u8, request.Prompt ?? string.Empty);
            if (request.System is { } system)
            {
                json.WriteString("system"u8, system);
            }

            WriteRest(json, request, options);
        }

        return body.WrittenMemory;
    }

    /// <summary>
    /// <c>model</c>, <c>messages</c> (the system prompt first, as a <c>system</c> message), <c>options</c>,
    /// <c>format</c>, <c>"stream": false</c>.
    /// </summary>
    public static ReadOnlyMemory<byte> Chat(InferenceRequest request, byte[]? options)
    {
        var messages = request.Messages!;
        var size = Slack + (request.System?.Length ?? 0) + (options?.Length ?? 0);
        foreach (var message in messages)
        {
            size += message.Content.Length + 32;
        }

        var body = new ArrayBufferWriter<byte>(size);
        using (var json = new Utf8JsonWriter(body, JsonText.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("model"u8, request.Model);
            json.WriteStartArray("messages"u8);
            if (request.System is { } system)
            {
                WriteMessage(json, "system", system);
            }

            foreach (var message in messages)
            {
                WriteMessage(json, message.Role, message.Content);
            }

            json.WriteEndArray();
            WriteRest(json, request, options);
        }

        return body.WrittenMemory;
    }

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role"u8, role);
        json.WriteString("content"u8, content);
        json.WriteEndObject();
    }

    private static void WriteRest(Utf8JsonWriter json, InferenceRequest request, byte[]? options)
    {
        if (options is not null)
        {
            json.WritePropertyName("options"u8);
            json.WriteRawValue(options, skipInputValidation: true);
        }

        if (request.Format is { } format)
        {
            json.WritePropertyName("format"u8);
            format.WriteTo(json);
        }

        json.WriteBoolean("stream"u8, false);
        json.WriteEndObject();
    }
}
