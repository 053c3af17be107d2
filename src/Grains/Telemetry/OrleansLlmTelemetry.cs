namespace OrleansLlm.Telemetry;

/// <summary>The names under which the silo publishes its metrics and traces, for whoever listens (OpenTelemetry, tests).</summary>
public static class OrleansLlmTelemetry
{
    /// <summary>The meter of every <c>orleansllm_*</c> instrument and of the <c>gen_ai.client.*</c> ones.</summary>
    public const string MeterName = "OrleansLlm";

    /// <summary>The activity source of an item's spans on the silo: enqueue, lease, the Ollama call, settle.</summary>
    public const string ActivitySourceName = "OrleansLlm";

    /// <summary>The client's activity source (<c>OrleansLlm.Client</c>, the submit span), matched with the silo's by this wildcard.</summary>
    public const string AllActivitySources = "OrleansLlm*";
}
