using System.Text.Json;

namespace OllamaSim;

/// <summary>
/// The request <c>options</c> that change the simulated answer, read and type-checked the way Ollama's
/// <c>api.Options.FromMap</c> does: known options of the wrong JSON type fail the request with a 500 (Ollama
/// answers these from its scheduler), unknown ones are ignored, null values are skipped.
/// </summary>
internal sealed record RequestOptions(int? NumPredict, IReadOnlyList<string> Stop)
{
    public static RequestOptions None { get; } = new(null, []);

    private enum Kind
    {
        Integer,
        Float,
        Boolean,
        Strings,
    }

    // api/types.go: Options and Runner, by JSON name.
    private static readonly Dictionary<string, Kind> Known = new(StringComparer.Ordinal)
    {
        ["num_keep"] = Kind.Integer,
        ["seed"] = Kind.Integer,
        ["num_predict"] = Kind.Integer,
        ["top_k"] = Kind.Integer,
        ["top_p"] = Kind.Float,
        ["min_p"] = Kind.Float,
        ["typical_p"] = Kind.Float,
        ["repeat_last_n"] = Kind.Integer,
        ["temperature"] = Kind.Float,
        ["repeat_penalty"] = Kind.Float,
        ["presence_penalty"] = Kind.Float,
        ["frequency_penalty"] = Kind.Float,
        ["stop"] = Kind.Strings,
        ["num_ctx"] = Kind.Integer,
        ["num_batch"] = Kind.Integer,
        ["num_gpu"] = Kind.Integer,
        ["main_gpu"] = Kind.Integer,
        ["use_mmap"] = Kind.Boolean,
        ["num_thread"] = Kind.Integer,
        ["draft_num_predict"] = Kind.Integer,
    };

    /// <summary>Reads <paramref name="options"/>; throws <see cref="OllamaError"/> where Ollama would refuse them.</summary>
    public static RequestOptions Parse(JsonElement? options)
    {
        if (options is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } value)
        {
            return None;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            // Go's decoder refuses it while binding the body.
            throw new OllamaError(StatusCodes.Status400BadRequest, "invalid request body: options must be a JSON object");
        }

        int? numPredict = null;
        IReadOnlyList<string> stop = [];
        foreach (var option in value.EnumerateObject())
        {
            if (!Known.TryGetValue(option.Name, out var kind) || option.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            var v = option.Value;
            switch (kind)
            {
                case Kind.Integer when v.ValueKind == JsonValueKind.Number:
                    if (option.Name == "num_predict")
                    {
                        // Go truncates JSON numbers into int fields.
                        numPredict = (int)Math.Clamp(Math.Truncate(v.GetDouble()), int.MinValue, int.MaxValue);
                    }

                    break;
                case Kind.Integer:
                    throw Refused(option.Name, "must be of type integer");
                case Kind.Float when v.ValueKind != JsonValueKind.Number:
                    throw Refused(option.Name, "must be of type float32");
                case Kind.Boolean when v.ValueKind is not (JsonValueKind.True or JsonValueKind.False):
                    throw Refused(option.Name, "must be of type boolean");
                case Kind.Strings when v.ValueKind != JsonValueKind.Array:
                    throw Refused(option.Name, "must be of type array");
                case Kind.Strings:
                    stop = v.EnumerateArray().Select(item => item.ValueKind == JsonValueKind.String
                        ? item.GetString()!
                        : throw Refused(option.Name, "must be of an array of strings")).ToList();
                    break;
            }
        }

        return new RequestOptions(numPredict, stop);
    }

    /// <summary>
    /// Cuts <paramref name="answer"/> the way a runner would: at the first stop sequence (done_reason "stop"), then
    /// after num_predict tokens when it is positive and the answer is longer (done_reason "length").
    /// </summary>
    public LimitedAnswer Limit(string answer)
    {
        var cut = Stop.Where(s => s.Length > 0)
            .Select(s => answer.IndexOf(s, StringComparison.Ordinal))
            .Where(i => i >= 0)
            .DefaultIfEmpty(answer.Length)
            .Min();
        answer = answer[..cut];

        var pieces = SimulatedModel.TokenPieces(answer);
        if (NumPredict is { } n && n > 0 && n < pieces.Count + 1)
        {
            return new LimitedAnswer(string.Concat(pieces.Take(n)), n, "length");
        }

        return new LimitedAnswer(answer, SimulatedModel.OutputTokens(answer), "stop");
    }

    private static OllamaError Refused(string name, string what) =>
        new(StatusCodes.Status500InternalServerError, $"option \"{name}\" {what}");
}
