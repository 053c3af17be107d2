using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OllamaSim;

// Wire shapes of the simulator's own /sim endpoints: camelCase, named after the command-line flags.

/// <summary>
/// Body of <c>POST /sim/faults</c>: only the fields present change. <c>loadDelay</c> is seconds or a
/// duration string ("2s", "500ms"); <c>failPromptContains</c> "" clears it.
/// </summary>
internal sealed class FaultsPatch
{
    public double? ErrorRate { get; set; }
    public double? UnavailableRate { get; set; }
    public double? HangRate { get; set; }

    [JsonPropertyName("midstreamErrorRate")]
    public double? MidStreamErrorRate { get; set; }

    public double? NoDoneRate { get; set; }
    public double? SchemaViolationRate { get; set; }
    public JsonElement? LoadDelay { get; set; }
    public string? FailPromptContains { get; set; }

    public FaultOptions ApplyTo(FaultOptions current) => current with
    {
        ErrorRate = ErrorRate ?? current.ErrorRate,
        UnavailableRate = UnavailableRate ?? current.UnavailableRate,
        HangRate = HangRate ?? current.HangRate,
        MidStreamErrorRate = MidStreamErrorRate ?? current.MidStreamErrorRate,
        NoDoneRate = NoDoneRate ?? current.NoDoneRate,
        SchemaViolationRate = SchemaViolationRate ?? current.SchemaViolationRate,
        LoadDelay = LoadDelay is { } d ? ParseDelay(d) : current.LoadDelay,
        FailPromptContains = FailPromptContains is null ? current.FailPromptContains
            : FailPromptContains.Length == 0 ? null : FailPromptContains,
    };

    private static TimeSpan ParseDelay(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => TimeSpan.FromSeconds(value.GetDouble()),
        JsonValueKind.String => Durations.Parse(value.GetString()!, "loadDelay"),
        _ => throw new ArgumentException("loadDelay must be a number of seconds or a duration string like \"2s\""),
    };
}

/// <summary>What <c>GET/POST /sim/faults</c> returns.</summary>
internal sealed record FaultsView(
    double ErrorRate,
    double UnavailableRate,
    double HangRate,
    [property: JsonPropertyName("midstreamErrorRate")] double MidStreamErrorRate,
    double NoDoneRate,
    double SchemaViolationRate,
    double LoadDelay,
    string? FailPromptContains)
{
    public static FaultsView From(FaultOptions f) => new(
        f.ErrorRate, f.UnavailableRate, f.HangRate, f.MidStreamErrorRate, f.NoDoneRate, f.SchemaViolationRate,
        f.LoadDelay.TotalSeconds, f.FailPromptContains);
}

internal sealed record SpeedBody(double Speed);

internal sealed record SimError(string Error);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SimulatorStats))]
[JsonSerializable(typeof(FaultsPatch))]
[JsonSerializable(typeof(FaultsView))]
[JsonSerializable(typeof(SpeedBody))]
[JsonSerializable(typeof(SimError))]
[JsonSerializable(typeof(RecordedRequests))]
internal sealed partial class SimJsonContext : JsonSerializerContext
{
    /// <summary>Default plus relaxed escaping, so messages keep their quotes readable.</summary>
    public static SimJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
