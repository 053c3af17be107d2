using Microsoft.Extensions.Options;

namespace OrleansLlm.Options;

/// <summary>The per-silo worker. Section <c>Worker</c>.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>
    /// What the host's shutdown timeout adds to <see cref="DrainTimeout"/>: time for the rest of the silo to stop once
    /// the worker has drained (leaving membership, closing connections). The pod's grace period must cover both.
    /// </summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Most Ollama requests in flight from this silo: the cap of the adaptive controller, or the fixed limit when
    /// <see cref="AdaptiveConcurrency"/> is off. With the adaptive controller, set it at or above the backend's
    /// <c>OLLAMA_NUM_PARALLEL</c> (a GPU may run 16–32): the controller finds the slots below the cap, never past it.
    /// Default: 16.
    /// </summary>
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>Find the limit from Ollama's own figures (true), or always use <see cref="MaxConcurrency"/>. Default: true.</summary>
    public bool AdaptiveConcurrency { get; set; } = true;

    /// <summary>
    /// Where the adaptive controller starts; it doubles from there until requests wait for a slot or stop paying.
    /// Default: 1. A GPU pod sets it to its Ollama's <c>OLLAMA_NUM_PARALLEL</c> (<c>deploy/overlays/gpu</c>): a GPU
    /// serves all its slots, and doubling from 1 would leave most of them idle for log2(slots) service times. Keep 1
    /// where throughput may peak below the slots (a CPU, a GPU short of memory): above its start the controller
    /// probes, but below it looks only after a step up paid nothing, and then one request at a time.
    /// </summary>
    public int InitialConcurrency { get; set; } = 1;

    /// <summary>How often the adaptive controller tries one more request in flight than its knee. Default: 30 seconds.</summary>
    public TimeSpan ConcurrencyProbeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Most items the worker leases ahead of its free slots, so a slot that frees starts its next item at once rather
    /// than waiting a Redis round trip (<c>Worker/LeaseBuffer</c>: it keeps about what frees during two lease round
    /// trips, at least 1, at most the concurrency limit and this). Buffered items are leases: renewed, counted by KEDA
    /// and handed back first on a drain. 0 turns lease ahead off: the worker leases only for slots that are free.
    /// Default: 16.
    /// </summary>
    public int MaxLeaseAhead { get; set; } = 16;

    /// <summary>
    /// First wait after finding the queue empty; it doubles up to <see cref="PollMaxDelay"/>, each wait drawn from the
    /// upper half of its step (<c>Worker/IdleBackoff</c>). Default: 50 ms.
    /// </summary>
    public TimeSpan PollMinDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Longest wait between polls of an empty queue. Default: 1 second. A batch that enqueues items, and a worker that
    /// finds work after the queue was empty, have the coordinator wake the others, so a new batch does not wait for
    /// each one's poll.
    /// </summary>
    public TimeSpan PollMaxDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// First wait before probing an Ollama that failed (its breaker is open); it doubles up to
    /// <see cref="BackendProbeMaxDelay"/>. Default: 500 ms.
    /// </summary>
    public TimeSpan BackendProbeMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between probes of a failing Ollama. Default: 30 seconds.</summary>
    public TimeSpan BackendProbeMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long in-flight calls may run on after the silo is asked to stop; keep it under the pod's grace period. Default: 4 minutes.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>
    /// How often the worker reads again which models its Ollama has (<c>/api/tags</c>): it leases only items of those,
    /// so a model pulled later is served from the next read on. Default: 30 seconds.
    /// </summary>
    public TimeSpan ModelRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the worker reports to the coordinator. Default: 2 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// File written once the worker is drained (and removed when it runs), so the Ollama container of the same pod
    /// can wait for it before stopping. Default: none.
    /// </summary>
    public string? DrainedMarkerPath { get; set; }
}

public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions o)
    {
        var failures = new List<string>();
        const string s = WorkerOptions.Section;
        if (o.MaxConcurrency < 1)
        {
            failures.Add($"{s}:{nameof(o.MaxConcurrency)} must be at least 1 (was {o.MaxConcurrency}).");
        }

        if (o.InitialConcurrency < 1)
        {
            failures.Add($"{s}:{nameof(o.InitialConcurrency)} must be at least 1 (was {o.InitialConcurrency}).");
        }

        if (o.ConcurrencyProbeInterval <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.ConcurrencyProbeInterval)} must be positive (was {o.ConcurrencyProbeInterval}).");
        }

        if (o.MaxLeaseAhead < 0)
        {
            failures.Add($"{s}:{nameof(o.MaxLeaseAhead)} must not be negative (0 turns lease ahead off; was {o.MaxLeaseAhead}).");
        }

        if (o.PollMinDelay <= TimeSpan.Zero || o.PollMaxDelay < o.PollMinDelay)
        {
            failures.Add($"{s}:{nameof(o.PollMinDelay)} must be positive and at most {nameof(o.PollMaxDelay)}.");
        }

        if (o.BackendProbeMinDelay <= TimeSpan.Zero || o.BackendProbeMaxDelay < o.BackendProbeMinDelay)
        {
            failures.Add($"{s}:{nameof(o.BackendProbeMinDelay)} must be positive and at most {nameof(o.BackendProbeMaxDelay)}.");
        }

        if (o.ModelRefreshInterval <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.ModelRefreshInterval)} must be positive (was {o.ModelRefreshInterval}).");
        }

        if (o.HeartbeatInterval <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.HeartbeatInterval)} must be positive (was {o.HeartbeatInterval}).");
        }

        if (o.DrainTimeout < TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.DrainTimeout)} must not be negative (was {o.DrainTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
