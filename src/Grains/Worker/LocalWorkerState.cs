using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// What this silo's worker is doing, for the silo's own readiness probe and the Ollama beside it: while it drains,
/// the pod is not ready; once it is drained, a marker file (if configured) tells the Ollama container it may stop.
/// Its items in flight set the pod's deletion cost (Kubernetes/PodDeletionCostReporter).
/// </summary>
public sealed partial class LocalWorkerState(IOptions<WorkerOptions> options, IHostApplicationLifetime host, TimeProvider time, ILogger<LocalWorkerState> logger)
{
    private volatile WorkerStateBox? _state;
    private int _inFlight;

    /// <summary>Null until the worker runs.</summary>
    public WorkerState? State => _state?.Value;

    public bool IsAccepting => State == WorkerState.Active;

    public bool IsDrained => State == WorkerState.Drained;

    /// <summary>Whether the silo is shutting down: its worker then drains for good.</summary>
    public bool SiloStopping => host.ApplicationStopping.IsCancellationRequested;

    /// <summary>Why the worker's Ollama counts as broken (its breaker is open), or null while it is healthy.</summary>
    public string? BackendProblem { get; private set; }

    internal void SetBackendProblem(string? problem) => BackendProblem = problem;
    /// <summary>The items the worker holds (leased, not yet settled: in flight or leased ahead), as of its last heartbeat.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    internal void SetInFlight(int count) => Volatile.Write(ref _inFlight, count);

    internal void Set(WorkerState state)
    {
        // The marker first: whoever sees the state Drained (readiness, the drain's caller) finds the marker written.
        WriteMarker(state);
        _state = new WorkerStateBox(state);
    }

    private void WriteMarker(WorkerState state)
    {
        if (options.Value.DrainedMarkerPath is not { Length: > 0 } path)
        {
            return;
        }

        try
        {
            if (state == WorkerState.Drained)
            {
                File.WriteAllText(path, time.GetUtcNow().ToString("O"));
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogMarkerFailed(logger, ex, path);
        }
    }

    private sealed record WorkerStateBox(WorkerState Value);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not update the drained marker file {Path}")]
    private static partial void LogMarkerFailed(ILogger logger, Exception ex, string path);
}
