using System.Globalization;

namespace OllamaSim;

/// <summary>
/// Fault injection settings. Immutable: the simulator swaps whole snapshots, so one request
/// never sees half of an update. Change them with <c>server.UpdateFaults(f =&gt; f with { ... })</c>.
/// </summary>
public sealed record FaultOptions
{
    /// <summary>Probability of an immediate HTTP 500 <c>{"error":"simulated failure"}</c>.</summary>
    public double ErrorRate { get; init; }

    /// <summary>Probability of an immediate HTTP 503 <c>{"error":"server busy"}</c> (Ollama's full-queue answer).</summary>
    public double UnavailableRate { get; init; }

    /// <summary>Probability that a request takes a slot and never answers until the client disconnects.</summary>
    public double HangRate { get; init; }

    /// <summary>Probability that a response breaks half way: streams end with an error line, non-streaming gets a 500.</summary>
    public double MidStreamErrorRate { get; init; }

    /// <summary>Probability of a 200 response whose final object lacks <c>"done":true</c>.</summary>
    public double NoDoneRate { get; init; }

    /// <summary>
    /// Probability that a format-constrained answer (<c>"format":"json"</c> or a JSON schema) breaks its format:
    /// a required property missing or a property of the wrong type for a schema, cut-off JSON for "json".
    /// </summary>
    public double SchemaViolationRate { get; init; }

    /// <summary>Wall time the first request waits for a model load (after start or unload). Not time-scaled.</summary>
    public TimeSpan LoadDelay { get; init; }

    /// <summary>Every generate/chat request whose prompt contains this text (ordinal, case-insensitive) gets a 500.</summary>
    public string? FailPromptContains { get; init; }

    public void Validate()
    {
        CheckRate(ErrorRate, "error-rate");
        CheckRate(UnavailableRate, "unavailable-rate");
        CheckRate(HangRate, "hang-rate");
        CheckRate(MidStreamErrorRate, "midstream-error-rate");
        CheckRate(NoDoneRate, "no-done-rate");
        CheckRate(SchemaViolationRate, "schema-violation-rate");
        if (LoadDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"load-delay must not be negative (got {LoadDelay})");
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"error-rate={ErrorRate} unavailable-rate={UnavailableRate} hang-rate={HangRate} " +
            $"midstream-error-rate={MidStreamErrorRate} no-done-rate={NoDoneRate} schema-violation-rate={SchemaViolationRate} " +
            $"load-delay={LoadDelay.TotalSeconds}s fail-prompt-contains={FailPromptContains ?? "(none)"}");

    private static void CheckRate(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0 || value > 1)
        {
            throw new ArgumentException($"{name} must be a probability between 0 and 1 (got {value})");
        }
    }
}
