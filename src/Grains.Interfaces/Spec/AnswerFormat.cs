using System.Text.Json;
using Json.Schema;

namespace OrleansLlm;

/// <summary>
/// What a batch's answers must be: any JSON object (<c>json</c>), or JSON valid against a JSON Schema. It is sent to
/// Ollama as <c>format</c>, and every answer is checked here, since Ollama does not always keep to it.
/// </summary>
public sealed class AnswerFormat
{
    // Enough to say what is wrong without flooding a prompt or a dead letter.
    private const int MaxErrors = 3;

    private readonly JsonSchema? _schema;

    private AnswerFormat(JsonElement value, JsonSchema? schema)
    {
        Value = value;
        _schema = schema;
    }

    /// <summary>What Ollama gets as <c>format</c>: the string <c>json</c>, or the schema object.</summary>
    public JsonElement Value { get; }

    /// <returns>Null when <paramref name="format"/> is <c>json</c> or a usable JSON Schema object, else why not, in one line.</returns>
    public static string? TryParse(string format, out AnswerFormat? parsed)
    {
        parsed = null;
        if (format == BatchSpec.JsonFormat)
        {
            parsed = new AnswerFormat(JsonSerializer.SerializeToElement(BatchSpec.JsonFormat), schema: null);
            return null;
        }

        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(format);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return $"the schema is not valid JSON: {ex.Message}";
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"the schema must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}";
        }

        try
        {
            // A registry of its own: nothing one batch's schema declares ($id, $defs) is seen by another's.
            var schema = JsonSchema.Build(root, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri($"https://orleansllm.invalid/schema/{Guid.NewGuid():N}"));
            parsed = new AnswerFormat(root, schema);
            return null;
        }
        catch (Exception ex) when (ex is JsonException or JsonSchemaException or ArgumentException or InvalidOperationException or FormatException or RefResolutionException or KeyNotFoundException)
        {
            return $"the schema is not a usable JSON Schema: {ex.Message}";
        }
    }

    /// <summary>Checks an answer.</summary>
    /// <param name="value">The answer as JSON, when it is valid.</param>
    /// <returns>Null when the answer is valid, else what is wrong with it, in one line.</returns>
    public string? Check(string answer, out JsonElement value)
    {
        value = default;
        JsonElement parsed;
        try
        {
            using var doc = JsonDocument.Parse(answer);
            parsed = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return $"the answer is not valid JSON ({ex.Message})";
        }

        if (_schema is null)
        {
            if (parsed.ValueKind != JsonValueKind.Object)
            {
                return $"the answer is a JSON {parsed.ValueKind.ToString().ToLowerInvariant()}, not an object";
            }

            value = parsed;
            return null;
        }

        var result = _schema.Evaluate(parsed, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            value = parsed;
            return null;
        }

        var errors = (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Values.Select(e => $"{Location(d.InstanceLocation.ToString())}: {e}"))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return errors.Count == 0
            ? "the answer does not match the schema"
            : $"the answer does not match the schema: {string.Join("; ", errors.Take(MaxErrors))}{(errors.Count > MaxErrors ? $" (and {errors.Count - MaxErrors} more)" : string.Empty)}";
    }

    /// <summary>What the model is told after an answer that <see cref="Check"/> refused.</summary>
    public static string Correction(string error) =>
        $"Your previous answer was refused: {error}. Answer again with only JSON that matches the required format.";

    private static string Location(string pointer) => pointer.Length == 0 ? "the answer" : $"at {pointer}";
}
