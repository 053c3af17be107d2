using System.Globalization;
using System.Text.Json.Serialization;

namespace OrleansLlm;

/// <summary>
/// The Ollama <c>options</c> a batch sends with every one of its requests, so all its items are generated alike.
/// Null leaves an option to Ollama (or the model's Modelfile). In JSON (<see cref="SpecJson"/>) each property is named
/// as Ollama names the option (<c>NumCtx</c> is <c>num_ctx</c>), so this record is Ollama's <c>options</c> object.
/// </summary>
/// <remarks>
/// Only <see cref="NumCtx"/> is a runner option: requests whose <c>num_ctx</c> differs make Ollama reload the model,
/// so batches with different values that run at the same time cost reloads. The others are sampling settings of
/// each request.
/// </remarks>
/// <param name="Temperature">Sampling temperature, 0 to 2 (OpenAI's <c>temperature</c>).</param>
/// <param name="Seed">Random seed, for repeatable answers (OpenAI's <c>seed</c>).</param>
/// <param name="NumCtx">Context window in tokens.</param>
/// <param name="NumPredict">Most tokens to generate (OpenAI's <c>max_tokens</c>); the answer is cut there, with done reason <c>length</c>.</param>
/// <param name="Stop">Sequences that end the answer (OpenAI's <c>stop</c>).</param>
/// <param name="TopP">Nucleus sampling, 0 to 1 (OpenAI's <c>top_p</c>).</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.GenerationOptions")]
public sealed record GenerationOptions(
    [property: Id(0)] double? Temperature = null,
    [property: Id(1)] int? Seed = null,
    [property: Id(2)] int? NumCtx = null,
    [property: Id(3)] int? NumPredict = null,
    [property: Id(4)] IReadOnlyList<string>? Stop = null,
    [property: Id(5)] double? TopP = null)
{
    /// <summary>Most stop sequences a batch may set.</summary>
    public const int MaxStopSequences = 16;

    public static GenerationOptions None { get; } = new();

    /// <summary>True when no option is set.</summary>
    [JsonIgnore]
    public bool IsEmpty => this == None;

    /// <summary>Every value that Ollama would refuse or that makes no sense, one line each, named as the CLI names it.</summary>
    public IReadOnlyList<string> Check()
    {
        var errors = new List<string>();
        if (Temperature is { } t && !(t is >= 0 and <= 2))
        {
            errors.Add($"temperature must be between 0 and 2 (was {t.ToString(CultureInfo.InvariantCulture)})");
        }

        if (TopP is { } p && !(p is >= 0 and <= 1))
        {
            errors.Add($"top_p must be between 0 and 1 (was {p.ToString(CultureInfo.InvariantCulture)})");
        }

        if (NumCtx is < 1)
        {
            errors.Add($"num_ctx must be at least 1 (was {NumCtx})");
        }

        if (NumPredict is < 1)
        {
            errors.Add($"max_tokens (num_predict) must be at least 1 (was {NumPredict})");
        }

        if (Stop is { } stop && (stop.Count > MaxStopSequences || stop.Any(string.IsNullOrEmpty)))
        {
            errors.Add($"stop takes 1 to {MaxStopSequences} non-empty sequences (was {stop.Count}{(stop.Any(string.IsNullOrEmpty) ? ", one empty" : string.Empty)})");
        }

        return errors;
    }

    public bool Equals(GenerationOptions? other) =>
        other is not null
        && Temperature == other.Temperature
        && Seed == other.Seed
        && NumCtx == other.NumCtx
        && NumPredict == other.NumPredict
        && TopP == other.TopP
        && (Stop ?? []).SequenceEqual(other.Stop ?? [], StringComparer.Ordinal);

    public override int GetHashCode()
    {
        var hash = HashCode.Combine(Temperature, Seed, NumCtx, NumPredict, TopP);
        foreach (var s in Stop ?? [])
        {
            hash = HashCode.Combine(hash, s);
        }

        return hash;
    }
}
