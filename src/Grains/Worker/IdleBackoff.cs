namespace OrleansLlm.Worker;

/// <summary>
/// The waits between polls of an empty queue: doubling from <c>Worker:PollMinDelay</c> to <c>Worker:PollMaxDelay</c>,
/// each drawn from the upper half of its step ("equal jitter"). Without the draw, silos that started together poll in
/// step for good, and new work waits for the one moment they all look: up to a whole <c>PollMaxDelay</c>, however many
/// silos there are. Drawn, their polls spread out, and the first of N to look finds it in about PollMaxDelay ÷ N.
/// </summary>
/// <remarks>Not thread-safe: each worker owns one.</remarks>
public sealed class IdleBackoff(TimeSpan min, TimeSpan max, Random random)
{
    private TimeSpan _step;

    /// <summary>Work was found (or the worker starts): the next empty poll waits <c>min</c> again.</summary>
    public void Reset() => _step = TimeSpan.Zero;

    /// <summary>How long to wait after this empty poll: between half the step and the step; the step then doubles.</summary>
    public TimeSpan Next()
    {
        if (_step == TimeSpan.Zero)
        {
            _step = min;
        }

        var wait = _step * (0.5 + (random.NextDouble() / 2));
        _step = TimeSpan.FromTicks(Math.Min(_step.Ticks * 2, max.Ticks));
        return wait;
    }
}
