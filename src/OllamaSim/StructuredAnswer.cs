using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OllamaSim;

/// <summary>
/// Answers for requests with Ollama's <c>format</c>, deterministic like <see cref="SimulatedModel.AnswerFor"/>:
/// a pure function of the prompt and the format, so tests elsewhere can compute what the simulator says.
/// <list type="bullet">
/// <item><c>"json"</c> gives <c>{"answer":"…"}</c> with <see cref="SimulatedModel.AnswerFor"/>.</item>
/// <item>A JSON schema gives a value built from it: every declared property, in order; <c>enum</c> and <c>const</c>
/// pick an allowed value; strings, numbers, integers and booleans are derived from a hash of the prompt and the
/// property's path, within <c>minimum</c>/<c>maximum</c>, <c>minLength</c>/<c>maxLength</c> and
/// <c>minItems</c>/<c>maxItems</c>; the first free-form string is the model's answer itself. <c>$ref</c> into the
/// schema, <c>anyOf</c>/<c>oneOf</c> (the first non-null branch) and type lists (the first non-null type) are followed.</item>
/// </list>
/// </summary>
/// <remarks>
/// Not a JSON Schema validator's generator: <c>pattern</c>, <c>multipleOf</c>, <c>uniqueItems</c>,
/// <c>additionalProperties</c> and <c>allOf</c> beyond its first schema are not honoured.
/// </remarks>
public static class StructuredAnswer
{
    /// <summary>Nesting beyond which arrays get only their minimum items and objects only their required properties.</summary>
    private const int ShallowDepth = 3;

    /// <summary>Hard stop for recursive schemas whose required properties never end.</summary>
    private const int MaxDepth = 32;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>True for a format that asks for structured output: the string "json" or a JSON schema object.</summary>
    public static bool IsStructured(JsonElement format) => Classify(format) is FormatKind.Json or FormatKind.Schema;

    /// <summary>The answer to <paramref name="prompt"/> in <paramref name="format"/>: valid JSON, matching the schema if one is given.</summary>
    public static string For(string prompt, JsonElement format)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return Classify(format) switch
        {
            FormatKind.Json => JsonModeAnswer(prompt),
            FormatKind.Schema => Write(w => new Builder(prompt, format).Value(w, format, "$", 0)),
            _ => throw new ArgumentException($"format must be \"json\" or a JSON schema object (got {format.GetRawText()})", nameof(format)),
        };
    }

    /// <summary>
    /// An answer that breaks <paramref name="format"/>, as a model sometimes does: for a schema with required
    /// properties or typed properties, one required property missing or one property of the wrong type (chosen by
    /// the prompt's hash); otherwise, and for "json", JSON cut off half way.
    /// </summary>
    public static string Violating(string prompt, JsonElement format)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var valid = For(prompt, format);
        if (Classify(format) == FormatKind.Schema)
        {
            var builder = new Builder(prompt, format);
            var root = builder.Resolve(format);
            if (builder.ViolatingObject(root) is { } broken)
            {
                return broken;
            }

            if (WrongValue(TypesOf(root)) is { } wrong)
            {
                return Write(wrong);
            }
        }

        return CutOff(valid);
    }

    internal static FormatKind Classify(JsonElement? format) => format switch
    {
        null or { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => FormatKind.None,
        { ValueKind: JsonValueKind.String } s when s.GetString() is "" => FormatKind.None,
        { ValueKind: JsonValueKind.String } s when s.GetString() is "json" => FormatKind.Json,
        { ValueKind: JsonValueKind.Object } => FormatKind.Schema,
        _ => FormatKind.Invalid,
    };

    private static string JsonModeAnswer(string prompt) =>
        Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("answer", SimulatedModel.AnswerFor(prompt));
            w.WriteEndObject();
        });

    /// <summary>Half of the valid text; never valid JSON (a cut number such as "12" would be, so it gets an opening brace).</summary>
    private static string CutOff(string valid)
    {
        var half = valid[..(valid.Length / 2)];
        try
        {
            using var _ = JsonDocument.Parse(half);
            return "{" + half;
        }
        catch (JsonException)
        {
            return half;
        }
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The non-null types a schema declares; empty when it declares none.</summary>
    private static List<string> TypesOf(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var type))
        {
            return [];
        }

        return type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array => type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToList(),
            _ => [],
        };
    }

    /// <summary>A value of a type the schema does not allow, or null when it allows every JSON type.</summary>
    private static Action<Utf8JsonWriter>? WrongValue(List<string> allowed)
    {
        if (allowed.Count == 0)
        {
            return null;
        }

        if (!allowed.Contains("string"))
        {
            var what = allowed[0] is "array" or "integer" or "object" ? "an " + allowed[0] : "a " + allowed[0];
            return w => w.WriteStringValue($"not {what}");
        }

        if (!allowed.Contains("number") && !allowed.Contains("integer"))
        {
            return w => w.WriteNumberValue(12345);
        }

        if (!allowed.Contains("boolean"))
        {
            return w => w.WriteBooleanValue(true);
        }

        if (!allowed.Contains("object"))
        {
            return w =>
            {
                w.WriteStartObject();
                w.WriteEndObject();
            };
        }

        return null;
    }

    private static double? NumberProperty(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private static int? IntProperty(JsonElement schema, string name) =>
        NumberProperty(schema, name) is { } value ? (int)Math.Clamp(value, 0, 10_000) : null;

    /// <summary>Builds values for one prompt and one schema; remembers whether the model's answer has been placed.</summary>
    private sealed class Builder(string prompt, JsonElement root)
    {
        private bool _answerPlaced;

        /// <summary>Follows <c>$ref</c>, <c>anyOf</c>/<c>oneOf</c> and a lone <c>allOf</c> to the schema that describes the value.</summary>
        public JsonElement Resolve(JsonElement schema)
        {
            for (var hops = 0; hops < MaxDepth && schema.ValueKind == JsonValueKind.Object; hops++)
            {
                if (schema.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String
                    && Pointer(reference.GetString()!) is { } target)
                {
                    schema = target;
                }
                else if (!Describes(schema)
                    && (FirstBranch(schema, "anyOf") ?? FirstBranch(schema, "oneOf") ?? FirstBranch(schema, "allOf")) is { } branch)
                {
                    schema = branch;
                }
                else
                {
                    break;
                }
            }

            return schema;
        }

        public void Value(Utf8JsonWriter w, JsonElement schema, string path, int depth)
        {
            schema = Resolve(schema);
            if (depth > MaxDepth || schema.ValueKind != JsonValueKind.Object)
            {
                // true / {} / nesting that never ends: any value will do.
                w.WriteNullValue();
                return;
            }

            if (schema.TryGetProperty("const", out var constant))
            {
                constant.WriteTo(w);
                return;
            }

            if (schema.TryGetProperty("enum", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                choices[(int)(Hash(path) % (ulong)choices.GetArrayLength())].WriteTo(w);
                return;
            }

            var types = TypesOf(schema);
            var type = types.FirstOrDefault(t => t != "null")
                ?? (types.Count > 0 ? "null"
                    : schema.TryGetProperty("properties", out _) ? "object"
                    : schema.TryGetProperty("items", out _) ? "array"
                    : "string");
            switch (type)
            {
                case "object":
                    WriteObject(w, schema, path, depth, skip: null, wrongType: null);
                    break;
                case "array":
                    WriteArray(w, schema, path, depth);
                    break;
                case "integer":
                    w.WriteNumberValue(Integer(schema, path));
                    break;
                case "number":
                    w.WriteNumberValue(Number(schema, path));
                    break;
                case "boolean":
                    w.WriteBooleanValue((Hash(path) & 1) == 1);
                    break;
                case "null":
                    w.WriteNullValue();
                    break;
                default:
                    w.WriteStringValue(Text(schema, path));
                    break;
            }
        }

        /// <summary>
        /// The root object with one required property left out, or one typed property given a wrong type; null when
        /// the root is not an object with such properties.
        /// </summary>
        public string? ViolatingObject(JsonElement schema)
        {
            if (schema.ValueKind != JsonValueKind.Object
                || !(TypesOf(schema).Contains("object") || schema.TryGetProperty("properties", out _)))
            {
                return null;
            }

            var required = Required(schema);
            var typed = Properties(schema)
                .Where(p => WrongValue(TypesOf(Resolve(p.Value))) is not null)
                .Select(p => p.Name)
                .ToList();
            var choice = Hash("$violation");
            if (required.Count > 0 && (typed.Count == 0 || choice % 2 == 0))
            {
                var missing = required[(int)(choice / 2 % (ulong)required.Count)];
                return Write(w => WriteObject(w, schema, "$", 0, skip: missing, wrongType: null));
            }

            if (typed.Count > 0)
            {
                var wrong = typed[(int)(choice / 2 % (ulong)typed.Count)];
                return Write(w => WriteObject(w, schema, "$", 0, skip: null, wrongType: wrong));
            }

            return null;
        }

        private void WriteObject(Utf8JsonWriter w, JsonElement schema, string path, int depth, string? skip, string? wrongType)
        {
            var required = Required(schema);
            var properties = Properties(schema);
            w.WriteStartObject();
            foreach (var (name, propertySchema) in properties)
            {
                // Deep in a recursive schema, only what must be there, so the answer stays finite.
                if (name == skip || (depth >= ShallowDepth && !required.Contains(name)))
                {
                    continue;
                }

                w.WritePropertyName(name);
                if (name == wrongType)
                {
                    WrongValue(TypesOf(Resolve(propertySchema)))!(w);
                }
                else
                {
                    Value(w, propertySchema, $"{path}.{name}", depth + 1);
                }
            }

            // Required but not described: any value satisfies the schema, and a string is the likeliest.
            foreach (var name in required.Where(r => r != skip && properties.All(p => p.Name != r)))
            {
                w.WriteString(name, Text(default, $"{path}.{name}"));
            }

            w.WriteEndObject();
        }

        private void WriteArray(Utf8JsonWriter w, JsonElement schema, string path, int depth)
        {
            var min = IntProperty(schema, "minItems") ?? 0;
            var max = IntProperty(schema, "maxItems") ?? int.MaxValue;
            var count = depth >= ShallowDepth ? min : Math.Clamp(2, min, Math.Max(min, max));
            var items = schema.TryGetProperty("items", out var i) ? i : default;
            w.WriteStartArray();
            for (var n = 0; n < count; n++)
            {
                Value(w, items, $"{path}[{n}]", depth + 1);
            }

            w.WriteEndArray();
        }

        private string Text(JsonElement schema, string path)
        {
            var format = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String
                ? f.GetString()
                : null;
            var text = format switch
            {
                "date-time" => "2024-06-01T12:00:00Z",
                "date" => "2024-06-01",
                "time" => "12:00:00",
                "email" => $"user{Hash(path) % 1000}@example.com",
                "uri" or "url" => $"https://example.com/{Hash(path) % 1000}",
                "uuid" => new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(prompt + "\0" + path)).AsSpan(0, 16)).ToString(),
                _ => null,
            };
            if (text is null && !_answerPlaced)
            {
                // The first free-form string carries the answer, so a schema like {"mayor": string} gets the mayor.
                _answerPlaced = true;
                text = SimulatedModel.AnswerFor(prompt);
            }

            text ??= "value-" + Hash(path).ToString("x6", CultureInfo.InvariantCulture)[..6];
            if (schema.ValueKind == JsonValueKind.Object)
            {
                if (IntProperty(schema, "maxLength") is { } maxLength && text.Length > maxLength)
                {
                    text = text[..maxLength];
                }

                if (IntProperty(schema, "minLength") is { } minLength && text.Length < minLength)
                {
                    text = text.PadRight(minLength, 'x');
                }
            }

            return text;
        }

        private long Integer(JsonElement schema, string path)
        {
            var low = NumberProperty(schema, "minimum") is { } min ? (long)Math.Ceiling(min)
                : NumberProperty(schema, "exclusiveMinimum") is { } exMin ? (long)Math.Floor(exMin) + 1
                : 0;
            var high = NumberProperty(schema, "maximum") is { } max ? (long)Math.Floor(max)
                : NumberProperty(schema, "exclusiveMaximum") is { } exMax ? (long)Math.Ceiling(exMax) - 1
                : low + 100;
            return high <= low ? low : low + (long)(Hash(path) % (ulong)(high - low + 1));
        }

        private double Number(JsonElement schema, string path)
        {
            var low = NumberProperty(schema, "minimum") ?? NumberProperty(schema, "exclusiveMinimum") ?? 0;
            var high = NumberProperty(schema, "maximum") ?? NumberProperty(schema, "exclusiveMaximum") ?? low + 100;
            if (high <= low)
            {
                return low;
            }

            // Strictly inside the range, so exclusive bounds hold too; two decimals when that keeps it inside.
            var value = low + ((0.05 + (0.9 * (Hash(path) % 10_001) / 10_000)) * (high - low));
            var rounded = Math.Round(value, 2);
            return rounded > low && rounded < high ? rounded : value;
        }

        private JsonElement? Pointer(string reference)
        {
            if (reference == "#")
            {
                return root;
            }

            if (!reference.StartsWith("#/", StringComparison.Ordinal))
            {
                return null;
            }

            var node = root;
            foreach (var raw in reference[2..].Split('/'))
            {
                var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(segment, out node))
                {
                    return null;
                }
            }

            return node;
        }

        /// <summary>True when the schema describes the value itself, so combinators beside it are not followed.</summary>
        private static bool Describes(JsonElement schema) =>
            schema.TryGetProperty("type", out _) || schema.TryGetProperty("properties", out _)
            || schema.TryGetProperty("enum", out _) || schema.TryGetProperty("const", out _);

        private static JsonElement? FirstBranch(JsonElement schema, string keyword)
        {
            if (!schema.TryGetProperty(keyword, out var branches) || branches.ValueKind != JsonValueKind.Array || branches.GetArrayLength() == 0)
            {
                return null;
            }

            foreach (var branch in branches.EnumerateArray())
            {
                if (!(TypesOf(branch) is ["null"]))
                {
                    return branch;
                }
            }

            return branches[0];
        }

        private static List<string> Required(JsonElement schema) =>
            schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array
                ? required.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()!).ToList()
                : [];

        private static List<(string Name, JsonElement Value)> Properties(JsonElement schema) =>
            schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
                ? properties.EnumerateObject().Select(p => (p.Name, p.Value)).ToList()
                : [];

        private ulong Hash(string path) =>
            BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(prompt + "\0" + path)));
    }
}
