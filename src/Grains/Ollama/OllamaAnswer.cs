using System.Text.Json;
using OrleansLlm.Inference;

namespace OrleansLlm.Ollama;

/// <summary>
/// The one JSON object Ollama answers a non-streamed <c>/api/generate</c> or <c>/api/chat</c> with (docs/api.md,
/// "Request (No streaming)"), reduced to what a <see cref="Generation"/> holds: the text (<c>response</c>, or chat's
/// <c>message.content</c>), <c>done</c>, <c>done_reason</c> and the counts and durations (nanoseconds).
/// </summary>
/// <remarks>
/// Read field by field rather than deserialised: generate's final object carries <c>context</c>, the conversation's
/// tokens, an array as long as the prompt and answer, which nothing here uses; it is skipped, never materialised.
/// </remarks>
public readonly record struct OllamaAnswer(
    string Text,
    bool Done,
    string? DoneReason,
    long TotalDuration,
    long LoadDuration,
    long PromptEvalDuration,
    int PromptEvalCount,
    long EvalDuration,
    int EvalCount)
{
    /// <summary>Reads one answer.</summary>
    /// <exception cref="BackendResponseException">The body is not such an object (cut off, not JSON, a field of another type).</exception>
    public static OllamaAnswer Read(ReadOnlySpan<byte> body)
    {
        try
        {
            return ReadObject(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            // GetInt64 and the like throw InvalidOperationException for a token of another type, FormatException for
            // a number out of range: all of them an answer Ollama would never give whole.
            throw new BackendResponseException($"Ollama's answer is not the JSON object expected: {ex.Message}", ex);
        }
    }

    public Generation ToGeneration() => new(
        Text,
        FromNanoseconds(TotalDuration),
        EvalCount,
        FromNanoseconds(EvalDuration),
        FromNanoseconds(LoadDuration),
        FromNanoseconds(PromptEvalDuration),
        PromptEvalCount,
        DoneReason);

    private static OllamaAnswer ReadObject(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("the answer is not a JSON object");
        }

        var answer = new OllamaAnswer(string.Empty, false, null, 0, 0, 0, 0, 0, 0);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader;
            reader.Read();
            answer = name switch
            {
                _ when name.ValueTextEquals("response"u8) => answer with { Text = reader.GetString() ?? string.Empty },
                _ when name.ValueTextEquals("message"u8) => answer with { Text = MessageContent(ref reader) },
                _ when name.ValueTextEquals("done"u8) => answer with { Done = reader.GetBoolean() },
                _ when name.ValueTextEquals("done_reason"u8) => answer with { DoneReason = Reason(ref reader) },
                _ when name.ValueTextEquals("total_duration"u8) => answer with { TotalDuration = reader.GetInt64() },
                _ when name.ValueTextEquals("load_duration"u8) => answer with { LoadDuration = reader.GetInt64() },
                _ when name.ValueTextEquals("prompt_eval_count"u8) => answer with { PromptEvalCount = reader.GetInt32() },
                _ when name.ValueTextEquals("prompt_eval_duration"u8) => answer with { PromptEvalDuration = reader.GetInt64() },
                _ when name.ValueTextEquals("eval_count"u8) => answer with { EvalCount = reader.GetInt32() },
                _ when name.ValueTextEquals("eval_duration"u8) => answer with { EvalDuration = reader.GetInt64() },
                _ => Skipped(ref reader, answer), // context, model, created_at, thinking, …
            };
        }

        return reader.TokenType == JsonTokenType.EndObject ? answer : throw new JsonException("the answer's object is not closed");
    }

    /// <summary>Chat's <c>message</c>: its <c>content</c>, whatever else it holds (role, thinking, tool calls).</summary>
    private static string MessageContent(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return string.Empty;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("\"message\" is not an object");
        }

        var content = string.Empty;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isContent = reader.ValueTextEquals("content"u8);
            reader.Read();
            if (isContent)
            {
                content = reader.GetString() ?? string.Empty;
            }
            else
            {
                reader.Skip();
            }
        }

        return content;
    }

    // Ollama's reasons are a handful of words; the common ones cost no string per answer.
    private static string? Reason(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("stop"u8) ? "stop"
        : reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("length"u8) ? "length"
        : reader.GetString();

    private static OllamaAnswer Skipped(ref Utf8JsonReader reader, OllamaAnswer answer)
    {
        reader.Skip();
        return answer;
    }

    private static TimeSpan FromNanoseconds(long ns) => TimeSpan.FromTicks(ns / 100);
}
