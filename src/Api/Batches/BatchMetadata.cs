using System.Globalization;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// What the official SDKs can't send otherwise, read from a batch's <c>metadata</c>: its priority and the Ollama
/// options of all its requests, under keys that start with <see cref="Prefix"/> (docs/api.md).
/// </summary>
/// <param name="Overrides">What replaces the input file's model and options for the whole batch.</param>
public sealed record BatchMetadata(OpenAiBatchOverrides Overrides, BatchPriority Priority)
{
    public const string Prefix = "orleansllm_";

    public const string PriorityKey = Prefix + "priority";
    public const string ModelKey = Prefix + "model";
    public const string TemperatureKey = Prefix + "temperature";
    public const string NumCtxKey = Prefix + "num_ctx";
    public const string SystemPromptKey = Prefix + "system_prompt";
    public const string JsonSchemaKey = Prefix + "json_schema";

    public static IReadOnlyList<string> Keys { get; } = [PriorityKey, ModelKey, TemperatureKey, NumCtxKey, SystemPromptKey, JsonSchemaKey];

    /// <summary>
    /// Reads the <see cref="Prefix"/> keys, each checked as <see cref="BatchSpec.Check"/> checks the spec it sets;
    /// other keys are the user's own and are kept as they are.
    /// </summary>
    /// <returns>The settings, or the first key that is wrong (as <c>metadata.KEY</c>) and why.</returns>
    public static (BatchMetadata? Metadata, string? Param, string? Error) Read(IReadOnlyDictionary<string, string> metadata)
    {
        var (overrides, priority) = (new OpenAiBatchOverrides(), BatchPriority.Normal);
        foreach (var (key, value) in metadata.Where(p => p.Key.StartsWith(Prefix, StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var (spec, error) = key switch
            {
                PriorityKey => BatchPriorities.TryParse(value, out priority) ? (new BatchSpec(null, null, Priority: priority), null) : (null, "must be high, normal or low"),
                ModelKey => (new BatchSpec(null, null, Model: value), null),
                TemperatureKey => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var t)
                    ? (new BatchSpec(null, null, Options: new GenerationOptions(Temperature: t)), null) : (null, "must be a number"),
                NumCtxKey => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                    ? (new BatchSpec(null, null, Options: new GenerationOptions(NumCtx: n)), null) : (null, "must be a whole number of tokens"),
                SystemPromptKey => (new BatchSpec(null, null, SystemPrompt: value), null),
                JsonSchemaKey => (new BatchSpec(null, null, Format: value), (string?)null),
                _ => ((BatchSpec?)null, $"is not a key of this server (those under '{Prefix}' are: {string.Join(", ", Keys)})"),
            };
            if ((error ?? spec!.Check()) is { } why)
            {
                return (null, $"metadata.{key}", $"metadata.{key} {(error is null ? $"is refused: {why}" : why)}");
            }

            overrides = overrides with
            {
                Model = spec!.Model ?? overrides.Model,
                SystemPrompt = spec.SystemPrompt ?? overrides.SystemPrompt,
                Format = spec.Format ?? overrides.Format,
                Options = spec.Options is { } o ? (overrides.Options ?? GenerationOptions.None) with
                {
                    Temperature = o.Temperature ?? overrides.Options?.Temperature,
                    NumCtx = o.NumCtx ?? overrides.Options?.NumCtx,
                } : overrides.Options,
            };
        }

        return (new BatchMetadata(overrides, priority), null, null);
    }
}
