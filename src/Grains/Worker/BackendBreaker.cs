using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Inference;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// A per-silo circuit breaker in front of the silo's own Ollama. It tells a broken backend from a bad item, and
/// while the backend is broken the worker leases nothing, so a failing Ollama cannot swallow the queue.
/// </summary>
/// <remarks>
/// <para>
/// A failed call blames the item only if the backend has served another request since this one was sent, or a probe
/// (<see cref="IInferenceBackend.ProbeAsync"/>: the model listed, a one-token answer) passes now, and the breaker has
/// not opened since it was sent. Otherwise the breaker opens: the item goes back without spending an attempt, and the
/// worker probes with exponential backoff (<see cref="WorkerOptions.BackendProbeMinDelay"/> doubling to
/// <see cref="WorkerOptions.BackendProbeMaxDelay"/>) until the backend answers.
/// </para>
/// <para>
/// Hand-rolled rather than Polly's circuit breaker: Polly decides on failure ratios over a sampling window, so a
/// backend failing in milliseconds would burn its minimum throughput of items before opening, and it cannot blame
/// one item on a healthy backend; and what must stop is the pump's leasing, not calls Polly would reject.
/// </para>
/// </remarks>
public sealed partial class BackendBreaker(IInferenceBackend ollama, IOptions<WorkerOptions> options, LocalWorkerState localState, TimeProvider time, ILogger<BackendBreaker> logger)
{
    private DateTimeOffset _lastSuccess = DateTimeOffset.MinValue;
    private DateTimeOffset _openedAt = DateTimeOffset.MinValue;
    private Task<BackendProbe>? _probe;

    /// <summary>Why the backend counts as broken, or null while it is healthy.</summary>
    public string? Problem { get; private set; }

    public bool IsOpen => Problem is not null;

    public void OnSuccess() => _lastSuccess = time.GetUtcNow();

    /// <summary>
    /// Whose fault a failed call sent at <paramref name="sentAt"/> was. The item's (true, it spends an attempt) when
    /// the fault may be the item's and the backend has served another request since, or passes a probe now
    /// (concurrent failures share one probe). Otherwise the backend's: the breaker opens, unless it is open or opened
    /// while the call was out.
    /// </summary>
    public async Task<bool> IsTheItemsFaultAsync(ItemOutcome.BackendFault fault, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        // A call out while the breaker opened failed with its backend, even if the backend has recovered and served
        // others since: its timeout can come long after the repair. Reopening for it would halt a healthy backend.
        if (IsOpen || _openedAt >= sentAt)
        {
            return false;
        }

        if (!fault.Certain && (_lastSuccess > sentAt || await ProbeAsync(cancellationToken)))
        {
            return true;
        }

        Trip(fault.Error);
        return false;
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        _probe ??= ollama.ProbeAsync(cancellationToken);
        var probe = _probe;
        try
        {
            return (await probe).IsHealthy;
        }
        finally
        {
            if (ReferenceEquals(_probe, probe))
            {
                _probe = null;
            }
        }
    }

    /// <summary>Opens the breaker: the worker leases nothing until <see cref="WaitUntilClosedAsync"/> sees the backend answer.</summary>
    private void Trip(string problem)
    {
        if (IsOpen)
        {
            return;
        }

        Problem = problem;
        _openedAt = time.GetUtcNow();
        localState.SetBackendProblem(problem);
        LogOpened(logger, problem);
    }

    /// <summary>Probes the backend with exponential backoff until it answers, then closes the breaker.</summary>
    public async Task WaitUntilClosedAsync(CancellationToken cancellationToken)
    {
        var delay = options.Value.BackendProbeMinDelay;
        while (IsOpen && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(delay, time, cancellationToken);
            var probe = await ollama.ProbeAsync(cancellationToken);
            if (probe.IsHealthy)
            {
                LogClosed(logger, Problem!);
                Problem = null;
                localState.SetBackendProblem(null);
                _lastSuccess = time.GetUtcNow();
                return;
            }

            Problem = probe.Problem;
            localState.SetBackendProblem(probe.Problem);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.Value.BackendProbeMaxDelay.Ticks));
            LogStillOpen(logger, probe.Problem!, delay);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ollama is failing, so this silo leases nothing until it answers again: {Problem}")]
    private static partial void LogOpened(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ollama answers again; leasing resumes (it was: {Problem})")]
    private static partial void LogClosed(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ollama still failing, next probe in {Delay}: {Problem}")]
    private static partial void LogStillOpen(ILogger logger, string problem, TimeSpan delay);
}
