using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Input;

/// <summary>
/// Reads an OpenAI batch input file: one <c>{"custom_id","method":"POST","url","body"}</c> per line, where url is
/// <c>/v1/chat/completions</c> (body with <c>messages</c>) or <c>/v1/completions</c> (body with <c>prompt</c>).
/// </summary>
/// <remarks>
/// <para>
/// The file becomes one batch, and every item of a batch is sent to Ollama with the same model and options, since any
/// difference makes Ollama reload the model. So every line must agree on <c>url</c>, <c>model</c>, <c>temperature</c>,
/// <c>top_p</c>, <c>seed</c>, <c>max_tokens</c> (or <c>max_completion_tokens</c>), <c>stop</c> and
/// <c>response_format</c>; a line that differs is refused, naming the field and the line it differs from. (OpenAI
/// also takes one model per file.) Splitting such a file into one batch per set of options would scatter one file's
/// results over several batches, and its <c>custom_id</c>s with them; the user splits it knowingly instead, or sets
/// the value for the whole file on the command line (<see cref="OpenAiBatchOverrides"/>).
/// </para>
/// <para>
/// A field that would change the answer but that Ollama can't honour (<c>tools</c>, <c>n</c> above 1, images, ...)
/// is refused rather than dropped; fields that don't change the answer (<c>user</c>, <c>metadata</c>, ...) are ignored.
/// </para>
/// </remarks>
public static class OpenAiBatchReader
{
    public const string ChatUrl = "/v1/chat/completions";
    public const string CompletionsUrl = "/v1/completions";

    /// <summary>The prompt template of a completions batch: each item is <c>{"prompt": ...}</c>.</summary>
    public const string CompletionsTemplate = "{prompt}";

    // Fields of the body that are not mapped but may stay, when their values don't change the answer (see Unchanging).
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
    {
        "user", "metadata", "store", "service_tier", "stream", "n", "logprobs", "echo", "frequency_penalty", "presence_penalty",
    };

    /// <summary>True when the file's first non-blank line is an object with <c>custom_id</c> and <c>body</c>: an OpenAI batch file.</summary>
    /// <exception cref="InvalidDataException">The file is not UTF-8 but UTF-16 or UTF-32.</exception>
    public static async Task<bool> IsOpenAiBatchAsync(string path, CancellationToken cancellationToken)
    {
        using var lines = Utf8LineReader.Open(path);
        // A line that is not valid UTF-8 still tells the kind of file; its reader refuses it later, naming the line.
        while (await lines.ReadLineAsync(cancellationToken) is { Text: var line })
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(line);
                return doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("custom_id", out _)
                    && doc.RootElement.TryGetProperty("body", out _);
            }
            catch (JsonException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// Reads the whole file, one line at a time, and says what it would submit: the batch's spec, how many items, and
    /// every line that can't be taken. No item is kept, so a file of any size is checked in little memory (what grows
    /// is the set of <c>custom_id</c>s, to find one used twice); <see cref="ReadItemsAsync"/> then reads the items.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not UTF-8 but UTF-16 or UTF-32.</exception>
    public static Task<OpenAiBatch> CheckAsync(string path, OpenAiBatchOverrides overrides, int? limit, CancellationToken cancellationToken) =>
        CheckAsync(OpenFile(path), path, overrides, limit, cancellationToken);

    /// <summary>As <see cref="CheckAsync(string, OpenAiBatchOverrides, int?, CancellationToken)"/>, for a file read from a stream.</summary>
    /// <param name="open">Opens the file; the reading closes what it returns.</param>
    /// <param name="name">The file's name, for messages.</param>
    public static async Task<OpenAiBatch> CheckAsync(
        Func<Stream> open, string name, OpenAiBatchOverrides overrides, int? limit, CancellationToken cancellationToken)
    {
        var pass = new Pass(keepsItems: false);
        await foreach (var _ in ReadAsync(open, name, overrides, limit, pass, cancellationToken))
        {
        }

        if (pass.First is not { } head || pass.Errors.Count > 0)
        {
            return new OpenAiBatch(new BatchSpec(null, overrides.AnswerField), pass.Items, pass.Errors.First, pass.Errors.Count, Url: null, pass.BadLines);
        }

        var s = head.Shared;
        var spec = new BatchSpec(
            s.Chat ? null : CompletionsTemplate,
            overrides.AnswerField,
            overrides.Model ?? s.Model,
            Merge(s.Options, overrides.Options),
            overrides.SystemPrompt,
            overrides.Format ?? s.Format,
            s.Chat);
        return new OpenAiBatch(spec, pass.Items, [], 0, s.Chat ? ChatUrl : CompletionsUrl);
    }

    /// <summary>The file's items, read as they are asked for, one line at a time: the ones <see cref="CheckAsync"/> counts.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">
    /// A line <see cref="CheckAsync"/> would report, e.g. when the file changed since it was checked: the items are
    /// not read past it.
    /// </exception>
    public static IAsyncEnumerable<BatchItem> ReadItemsAsync(string path, OpenAiBatchOverrides overrides, int? limit, CancellationToken cancellationToken) =>
        ReadAsync(OpenFile(path), path, overrides, limit, new Pass(keepsItems: true), cancellationToken);

    /// <summary>As <see cref="ReadItemsAsync(string, OpenAiBatchOverrides, int?, CancellationToken)"/>, for a file read from a stream.</summary>
    public static IAsyncEnumerable<BatchItem> ReadItemsAsync(
        Func<Stream> open, string name, OpenAiBatchOverrides overrides, int? limit, CancellationToken cancellationToken) =>
        ReadAsync(open, name, overrides, limit, new Pass(keepsItems: true), cancellationToken);

    private static Func<Stream> OpenFile(string path) => () => File.Exists(path)
        ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan)
        : throw new FileNotFoundException($"no such file: {path}", path);

    private static async IAsyncEnumerable<BatchItem> ReadAsync(
        Func<Stream> open, string name, OpenAiBatchOverrides overrides, int? limit, Pass pass, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lineOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        using var lines = new Utf8LineReader(open(), name);
        while (pass.Items < (limit ?? int.MaxValue) && await lines.ReadLineAsync(cancellationToken) is { Text: var line, Number: var lineNumber, Error: var badLine })
        {
            if (string.IsNullOrWhiteSpace(line) && badLine is null)
            {
                continue;
            }

            string? id = null, item = null;
            Shared? shared = null;
            var error = badLine ?? ReadLine(line, overrides, out id, out item, out shared);
            if (error is null && id is not null && lineOfId.TryGetValue(id, out var earlier))
            {
                error = $"custom_id '{id}' is also on line {earlier}; each line needs its own";
            }

            if (error is null && pass.First is { } first && shared!.DifferenceFrom(first.Shared) is { } difference)
            {
                error = $"{difference} on line {first.Line}: every line of a batch is sent with the same model and options " +
                        "(a difference makes Ollama reload the model); split the file by them, or set the value for the whole file on the command line";
            }

            if (error is not null)
            {
                // PATH:LINE: as ItemSource names its bad rows, so submit reports both alike.
                pass.Add(lineNumber, error, $"{name}:{lineNumber}: {error}");
                continue;
            }

            lineOfId[id!] = lineNumber;
            pass.First ??= (shared!, lineNumber);
            pass.Items++;
            yield return new BatchItem(id!, item!);
        }
    }

    /// <returns>Null with the line's id, item and shared settings, or why the line can't be taken.</returns>
    private static string? ReadLine(string line, OpenAiBatchOverrides overrides, out string? id, out string? item, out Shared? shared)
    {
        (item, shared) = (null, null);
        return ReadRequest(line, out id, out var body, out var chat) ?? ReadBody(body, chat, overrides, out item, out shared);
    }

    /// <returns>Null with the request's custom_id, body and kind, or why the line is no request OpenAI's batch API takes.</returns>
    private static string? ReadRequest(string line, out string? id, out JsonElement body, out bool chat)
    {
        (id, body, chat) = (null, default, false);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(line);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return $"not valid JSON ({ex.Message})";
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"expected a JSON object, found {root.ValueKind.ToString().ToLowerInvariant()}";
        }

        // A value of another JSON type than the one asked for is refused like a wrong value, showing it as written.
        if (!root.TryGetProperty("custom_id", out var customId))
        {
            return "custom_id is missing; every line needs a non-empty string custom_id";
        }

        if (TextOf(customId) is not { Length: > 0 } cid)
        {
            return $"custom_id must be a non-empty string (was {customId.GetRawText()})";
        }

        id = cid;
        if (root.TryGetProperty("method", out var method) && TextOf(method) != "POST")
        {
            return $"method must be POST (was {method.GetRawText()})";
        }

        var hasUrl = root.TryGetProperty("url", out var u);
        var url = TextOf(u);
        if (url is not (ChatUrl or CompletionsUrl))
        {
            return $"url must be {ChatUrl} or {CompletionsUrl} (was {(hasUrl ? u.GetRawText() : "missing")})";
        }

        chat = url == ChatUrl;
        return root.TryGetProperty("body", out body) && body.ValueKind == JsonValueKind.Object ? null : "body must be a JSON object";
    }

    /// <returns>Null with the item and the settings it shares with every line, or why the body can't be taken.</returns>
    private static string? ReadBody(JsonElement body, bool chat, OpenAiBatchOverrides overrides, out string? item, out Shared? shared)
    {
        (item, shared) = (null, null);
        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "model", "temperature", "top_p", "seed", "max_tokens", "max_completion_tokens", "stop", "response_format", chat ? ChatMessages.Field : "prompt",
        };
        if (body.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => !known.Contains(n) && !Ignored.Contains(n)) is { } unsupported)
        {
            return $"body.{unsupported} is not supported (supported: {string.Join(", ", known.Order(StringComparer.Ordinal))})";
        }

        if (Unchanging(body) is { } changing)
        {
            return changing;
        }

        if (ReadModel(body, overrides, out var model) is { } modelError)
        {
            return modelError;
        }

        if (ReadOptions(body, out var options) is { } optionsError)
        {
            return optionsError;
        }

        if (ReadFormat(body, out var format) is { } formatError)
        {
            return formatError;
        }

        string? contentError;
        (item, contentError) = chat ? ChatItem(body) : CompletionItem(body);
        if (contentError is not null)
        {
            return contentError;
        }

        // What the command line sets is the batch's, whatever the lines say.
        shared = new Shared(
            chat,
            overrides.Model is null ? model : null,
            overrides.Options is null ? options : Merge(options, overrides.Options),
            overrides.Format is null ? format : null);
        return null;
    }

    private static string? ReadModel(JsonElement body, OpenAiBatchOverrides overrides, out string? model)
    {
        var hasModel = body.TryGetProperty("model", out var m) && m.ValueKind != JsonValueKind.Null;
        model = TextOf(m);
        if (hasModel && model is null)
        {
            return $"body.model must be a string (was {m.GetRawText()})";
        }

        return model is null && overrides.Model is null ? "body.model is missing (or give --model for the whole file)" : null;
    }

    /// <summary>Fields whose only values that keep the answer as asked are the ones Ollama gives anyway.</summary>
    private static string? Unchanging(JsonElement body)
    {
        if (body.TryGetProperty("n", out var n) && !(n.ValueKind == JsonValueKind.Number && n.GetDouble() == 1))
        {
            return "body.n must be 1: one answer per line";
        }

        if (body.TryGetProperty("stream", out var stream) && stream.ValueKind != JsonValueKind.False)
        {
            return "body.stream must be false or absent";
        }

        if (body.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind is not (JsonValueKind.False or JsonValueKind.Null))
        {
            return "body.logprobs is not supported";
        }

        // Scripts often spell out OpenAI's defaults; a penalty of 0 is no penalty.
        foreach (var penalty in new[] { "frequency_penalty", "presence_penalty" })
        {
            if (body.TryGetProperty(penalty, out var p) && !(p.ValueKind == JsonValueKind.Number && p.GetDouble() == 0) && p.ValueKind != JsonValueKind.Null)
            {
                return $"body.{penalty} is not supported (only 0)";
            }
        }

        return body.TryGetProperty("echo", out var echo) && echo.ValueKind == JsonValueKind.True ? "body.echo is not supported" : null;
    }

    private static string? ReadOptions(JsonElement body, out GenerationOptions options)
    {
        options = GenerationOptions.None;
        double? temperature = null, topP = null;
        int? seed = null, maxTokens = null;
        List<string>? stop = null;
        foreach (var p in body.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "temperature" when v.ValueKind == JsonValueKind.Number:
                    temperature = v.GetDouble();
                    break;
                case "top_p" when v.ValueKind == JsonValueKind.Number:
                    topP = v.GetDouble();
                    break;
                case "seed" when v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var s):
                    seed = s;
                    break;
                case "max_tokens" or "max_completion_tokens" when v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var t):
                    maxTokens = t;
                    break;
                case "stop" when v.ValueKind == JsonValueKind.String:
                    stop = [v.GetString()!];
                    break;
                case "stop" when v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                    stop = v.EnumerateArray().Select(e => e.GetString()!).ToList();
                    break;
                case "temperature" or "top_p" or "seed" or "max_tokens" or "max_completion_tokens" or "stop" when v.ValueKind != JsonValueKind.Null:
                    return $"body.{p.Name} has a value of the wrong type ({v.GetRawText()})";
            }
        }

        options = new GenerationOptions(temperature, seed, NumCtx: null, maxTokens, stop, topP);
        return options.Check() is [var first, ..] ? $"body: {first}" : null;
    }

    private static string? ReadFormat(JsonElement body, out string? format)
    {
        format = null;
        if (!body.TryGetProperty("response_format", out var rf) || rf.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var t = default(JsonElement);
        var hasType = rf.ValueKind == JsonValueKind.Object && rf.TryGetProperty("type", out t);
        var type = TextOf(t);
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                format = BatchSpec.JsonFormat;
                return null;
            case "json_schema" when rf.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object
                                    && js.TryGetProperty("schema", out var schema) && schema.ValueKind == JsonValueKind.Object:
                format = Compact(schema);
                return null;
            case "json_schema":
                return "body.response_format.json_schema.schema must be a JSON Schema object";
            default:
                return $"body.response_format.type must be text, json_object or json_schema (was {(type is not null ? $"'{type}'" : hasType ? t.GetRawText() : "missing")})";
        }
    }

    private static (string? Item, string? Error) ChatItem(JsonElement body)
    {
        if (!body.TryGetProperty(ChatMessages.Field, out var messages))
        {
            return (null, "body.messages is missing");
        }

        var item = Compact(writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName(ChatMessages.Field);
            messages.WriteTo(writer);
            writer.WriteEndObject();
        });
        using var doc = JsonDocument.Parse(item);
        return ChatMessages.TryRead(doc.RootElement, out _) is { } error ? (null, $"body.{error}") : (item, null);
    }

    private static (string? Item, string? Error) CompletionItem(JsonElement body)
    {
        var prompt = body.TryGetProperty("prompt", out var p) ? p.ValueKind switch
        {
            JsonValueKind.String => p.GetString(),
            // OpenAI takes a list of prompts for several completions; one line is one item, so only a list of one.
            JsonValueKind.Array when p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String => p[0].GetString(),
            _ => null,
        } : null;
        if (string.IsNullOrEmpty(prompt))
        {
            return (null, "body.prompt must be a non-empty string (or a list of one)");
        }

        return (Compact(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("prompt", prompt);
            writer.WriteEndObject();
        }), null);
    }

    private static GenerationOptions? Merge(GenerationOptions? file, GenerationOptions? command)
    {
        if (command is null)
        {
            return file is { IsEmpty: false } ? file : null;
        }

        var merged = new GenerationOptions(
            command.Temperature ?? file?.Temperature,
            command.Seed ?? file?.Seed,
            command.NumCtx ?? file?.NumCtx,
            command.NumPredict ?? file?.NumPredict,
            command.Stop ?? file?.Stop,
            command.TopP ?? file?.TopP);
        return merged.IsEmpty ? null : merged;
    }

    /// <returns>The string a value holds; null when it is missing (default) or not a string.</returns>
    private static string? TextOf(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Compact(JsonElement value) => Compact(value.WriteTo);

    private static string Compact(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>What one pass over a file found.</summary>
    /// <param name="keepsItems">True for the pass that reads the items, which stops at the first bad line (<see cref="BadRows"/>).</param>
    private sealed class Pass(bool keepsItems)
    {
        private readonly List<OpenAiBadLine> _badLines = [];

        public BadRows Errors { get; } = new(stopAtFirst: keepsItems);

        /// <summary>The first bad lines, as <see cref="Errors"/> keeps their messages, by number.</summary>
        public IReadOnlyList<OpenAiBadLine> BadLines => _badLines;

        public void Add(int line, string why, string message)
        {
            if (Errors.Count < BadRows.Kept)
            {
                _badLines.Add(new OpenAiBadLine(line, why));
            }

            Errors.Add(message);
        }

        public int Items { get; set; }

        /// <summary>The first line taken, whose settings every other line must share.</summary>
        public (Shared Shared, int Line)? First { get; set; }
    }

    /// <summary>What every line of one batch must share.</summary>
    private sealed record Shared(bool Chat, string? Model, GenerationOptions? Options, string? Format)
    {
        /// <returns>Null when the same, else which setting differs and how, e.g. "temperature is 0.7 here, not 0.2,".</returns>
        public string? DifferenceFrom(Shared first)
        {
            if (Chat != first.Chat)
            {
                return $"url is {(Chat ? ChatUrl : CompletionsUrl)} here, not {(first.Chat ? ChatUrl : CompletionsUrl)} as";
            }

            if (Model != first.Model)
            {
                return $"model is '{Model}' here, not '{first.Model}' as";
            }

            var (a, b) = (Options ?? GenerationOptions.None, first.Options ?? GenerationOptions.None);
            return a.Temperature != b.Temperature ? $"temperature is {Show(a.Temperature)} here, not {Show(b.Temperature)} as"
                : a.TopP != b.TopP ? $"top_p is {Show(a.TopP)} here, not {Show(b.TopP)} as"
                : a.Seed != b.Seed ? $"seed is {Show(a.Seed)} here, not {Show(b.Seed)} as"
                : a.NumPredict != b.NumPredict ? $"max_tokens is {Show(a.NumPredict)} here, not {Show(b.NumPredict)} as"
                : !(a.Stop ?? []).SequenceEqual(b.Stop ?? [], StringComparer.Ordinal) ? "stop differs here from what it is"
                : Format != first.Format ? "response_format differs here from what it is"
                : null;
        }

        private static string Show(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "not set";

        private static string Show(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "not set";
    }
}
