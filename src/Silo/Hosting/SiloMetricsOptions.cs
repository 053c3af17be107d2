namespace OrleansLlm.Silo.Hosting;

/// <summary>Where Prometheus scrapes <c>/metrics</c>. Section <c>Metrics</c>.</summary>
public sealed class SiloMetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>
    /// A port of its own for <c>/metrics</c>, and for nothing else: the silo listens on it besides its HTTP port, answers
    /// only <c>/metrics</c> there and no longer on the HTTP port, so a NetworkPolicy can admit Prometheus to the metrics
    /// alone while the dashboard, <c>/readyz</c> and <c>/drained</c> stay closed. Default: none, <c>/metrics</c> on the
    /// HTTP port (the local demo).
    /// </summary>
    public int? Port { get; set; }
}
