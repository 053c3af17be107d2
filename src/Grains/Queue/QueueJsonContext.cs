using System.Text.Json.Serialization;

namespace OrleansLlm.Queue;

[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(DeadLetter))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class QueueJsonContext : JsonSerializerContext;

/// <summary>An entry of the dead-letter list; the sweep script writes the same shape with cjson.</summary>
internal sealed record DeadLetter(string Reason, string? Error, int Attempts, string Batch, string Owner, long At, string Item);
