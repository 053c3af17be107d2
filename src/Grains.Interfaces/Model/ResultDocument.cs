using System.Buffers;
using System.Text;
using System.Text.Json;

namespace OrleansLlm;

/// <summary>
/// The result of one item, as stored in Redis and written by <c>orleansllm results</c>: built here and read here,
/// nowhere else.
/// </summary>
/// <remarks>
/// <code>
/// {"id": ITEM ID, "batch": BATCH ID, "input": {the item}, ANSWER FIELD: "the answer",
///  "meta": {"answer_field", "model", "attempts", "silo", "total_duration", "prompt_eval_count", "eval_count", "completed_at",
///           "endpoint", "done_reason", "raw_answer"}}
/// </code>
/// The answer's field is the batch's (or the silo's <c>Prompt:AnswerField</c>, <c>mayor</c> by default), so the
/// document reads like the workshop's; it may not be one of <see cref="ReservedFields"/>, and <c>meta.answer_field</c>
/// names it, so readers never guess. A structured answer (a batch with a format) is stored as the JSON value itself,
/// and <c>meta.raw_answer</c> keeps the text the model wrote.
/// </remarks>
public static class ResultDocument
{
    public const string IdField = "id";
    public const string BatchField = "batch";
    public const string InputField = "input";
    public const string MetaField = "meta";

    /// <summary>Top-level fields an answer field may not take.</summary>
    public static IReadOnlySet<string> ReservedFields { get; } = new HashSet<string>(StringComparer.Ordinal) { IdField, BatchField, InputField, MetaField };

    /// <summary><c>meta.endpoint</c> of an answer from Ollama's <c>/api/generate</c> (a prompt).</summary>
    public const string GenerateEndpoint = "generate";

    /// <summary><c>meta.endpoint</c> of an answer from Ollama's <c>/api/chat</c> (messages).</summary>
    public const string ChatEndpoint = "chat";

    public static bool IsReserved(string field) => ReservedFields.Contains(field);

    /// <summary>A result whose answer is free text.</summary>
    public static string Build(string itemId, string batchId, JsonElement input, string answer, ResultMeta meta) =>
        Build(itemId, batchId, input, meta, w => w.WriteString(meta.AnswerField, answer), rawAnswer: null);

    /// <summary>A structured result: <paramref name="answer"/> is the JSON the model wrote, <paramref name="rawAnswer"/> its text.</summary>
    public static string BuildStructured(string itemId, string batchId, JsonElement input, JsonElement answer, string rawAnswer, ResultMeta meta) =>
        Build(itemId, batchId, input, meta, w =>
        {
            w.WritePropertyName(meta.AnswerField);
            answer.WriteTo(w);
        }, rawAnswer);

    private static string Build(string itemId, string batchId, JsonElement input, ResultMeta meta, Action<Utf8JsonWriter> writeAnswer, string? rawAnswer)
    {
        if (IsReserved(meta.AnswerField))
        {
            throw new ArgumentException($"'{meta.AnswerField}' is reserved in result documents and can't hold the answer.", nameof(meta));
        }

        // Most documents fit in 4 KB: the item, the answer and the meta fields, with room for the writer's worst case.
        using var buffer = new PooledBufferWriter(4096);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString(IdField, itemId);
            w.WriteString(BatchField, batchId);
            w.WritePropertyName(InputField);
            input.WriteTo(w);
            writeAnswer(w);
            w.WriteStartObject(MetaField);
            w.WriteString("answer_field", meta.AnswerField);
            w.WriteString("model", meta.Model);
            w.WriteNumber("attempts", meta.Attempts);
            w.WriteString("silo", meta.Silo);
            w.WriteNumber("total_duration", meta.TotalDurationNs);
            w.WriteNumber("prompt_eval_count", meta.PromptEvalCount);
            w.WriteNumber("eval_count", meta.EvalCount);
            w.WriteString("completed_at", meta.CompletedAt);
            if (meta.Endpoint is not null)
            {
                w.WriteString("endpoint", meta.Endpoint);
            }

            if (meta.DoneReason is not null)
            {
                w.WriteString("done_reason", meta.DoneReason);
            }

            if (rawAnswer is not null)
            {
                w.WriteString("raw_answer", rawAnswer);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads a result document.</summary>
    /// <exception cref="FormatException">The text is not a result document.</exception>
    public static ResultView Read(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var meta = root.GetProperty(MetaField);
            // Documents from before meta.answer_field have one field that is not reserved: the answer.
            var answerField = meta.TryGetProperty("answer_field", out var named) ? named.GetString()!
                : root.EnumerateObject().Select(p => p.Name).First(n => !IsReserved(n));
            var input = root.GetProperty(InputField).EnumerateObject().Select(p => KeyValuePair.Create(p.Name, Text(p.Value))).ToArray();
            var answer = MetaText(meta, "raw_answer") ?? (root.TryGetProperty(answerField, out var stored) ? Text(stored) : string.Empty);
            return new ResultView(
                root.GetProperty(IdField).GetString()!,
                root.GetProperty(BatchField).GetString()!,
                input,
                answerField,
                answer,
                meta.TryGetProperty("attempts", out var attempts) ? attempts.GetInt32() : 0,
                MetaText(meta, "silo") ?? string.Empty,
                MetaText(meta, "model") ?? string.Empty,
                new TokenUsage(MetaNumber(meta, "prompt_eval_count"), MetaNumber(meta, "eval_count"), TimeSpan.FromTicks(MetaNumber(meta, "total_duration") / 100)),
                MetaText(meta, "endpoint"),
                MetaText(meta, "done_reason"),
                meta.TryGetProperty("completed_at", out var completed) && completed.TryGetDateTimeOffset(out var at) ? at : null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a result document: {ex.Message}", ex);
        }
    }

    /// <summary>True when <paramref name="document"/> is the result of exactly this item (same fields, same values, same order).</summary>
    public static bool IsResultOf(string document, JsonElement item) => InputOf(document) is { } input && input == Canonical(item);

    /// <summary>The document's input, written the way <see cref="Canonical"/> writes any item; null if unreadable.</summary>
    public static string? InputOf(string document)
    {
        try
        {
            using var doc = JsonDocument.Parse(document);
            return Canonical(doc.RootElement.GetProperty(InputField));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>An item as JSON text, written the same way whatever its escaping was, so two copies compare equal.</summary>
    public static string Canonical(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            value.WriteTo(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string? MetaText(JsonElement meta, string name) =>
        meta.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long MetaNumber(JsonElement meta, string name) =>
        meta.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) ? n : 0;

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Null => string.Empty,
        _ => value.GetRawText(),
    };
}
