namespace OrleansLlm.Silo.Hosting;

/// <summary>The Orleans Dashboard at <c>/dashboard</c>. Section <c>Dashboard</c>.</summary>
public sealed class SiloDashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>
    /// Serve the live log stream at <c>/dashboard/Trace</c>. It streams every log line, item text included, to whoever
    /// reaches the HTTP port, so it answers 403 unless turned on. Default: false.
    /// </summary>
    public bool Trace { get; set; }
}
