namespace OllamaSim;

/// <summary>What the dice decided for one request: at most one failure, and whether a format-constrained answer breaks its format.</summary>
internal readonly record struct FaultDecision(Fault Fault, bool ViolateSchema);
