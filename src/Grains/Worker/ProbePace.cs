namespace OrleansLlm.Worker;

/// <summary>
/// When the steady phase probes above its knee. The backend may change (a GPU freed by another model), so the knee is
/// re-checked now and then: soon after a new knee, since a noisy window may have set it, then less often as probes
/// confirm it, up to every <see cref="MaxWindowsBetweenProbes"/> windows and the probe interval. Probes are cheap: one
/// request waits, at most until a slot frees.
/// </summary>
internal sealed class ProbePace(TimeProvider time, TimeSpan interval)
{
    // A young knee (maybe set by one noisy answer) is re-checked after a window; each probe that confirms it doubles
    // the wait.
    private const int FirstProbeAfterWindows = 1;

    // A knee that a probe confirms with a clear queue met a real queue, not noise (a cold start, say): it is trusted,
    // and re-probed much later. That matters beside a one-slot Ollama, where every probe waits up to a service time.
    private const int TrustedKneeProbeAfterWindows = 8;
    private const int MaxWindowsBetweenProbes = 32;

    private long _lastProbe = time.GetTimestamp();
    private int _windowsHeld;
    private int _windowsBetweenProbes = FirstProbeAfterWindows;

    /// <summary>Whether the windows held at the knee call for a probe.</summary>
    public bool Due =>
        _windowsHeld >= _windowsBetweenProbes
        && (_windowsBetweenProbes < MaxWindowsBetweenProbes || time.GetElapsedTime(_lastProbe) >= interval);

    /// <summary>A knee was set: <paramref name="confirmed"/> if it is the one before, <paramref name="trusted"/> if a clear queue showed it.</summary>
    public void OnKnee(bool confirmed, bool trusted)
    {
        _windowsBetweenProbes = confirmed
            ? Math.Min(Math.Max(2 * _windowsBetweenProbes, trusted ? TrustedKneeProbeAfterWindows : 0), MaxWindowsBetweenProbes)
            : FirstProbeAfterWindows;
        _windowsHeld = 0;
    }

    public void Held() => _windowsHeld++;

    public void Probed()
    {
        _lastProbe = time.GetTimestamp();
        _windowsHeld = 0;
    }
}
