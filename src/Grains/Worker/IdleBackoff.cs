namespace OrleansLlm.Worker;

/// <summary>
/// The waits between polls of an empty queue: doubling from <c>Worker:PollMinDelay</c> to <c>Worker:PollMaxDelay</c>,
/// each drawn from the upper half of its step ("equal jitter"). Without the draw, silos that started together poll in
/// step for good, and new work waits for the one moment they all look: up to a whole <c>PollMaxDelay</c>, however many
/// silos there are. Drawn, their polls spread out, and the first of N to look finds it in about PollMaxDelay ÷ N.
/// </summary>
/// <remarks>Not thread-safe: each worker owns one.</remarks>
public sealed class IdleBackoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly Random _random;
    private TimeSpan _step;

    public IdleBackoff(TimeSpan min, TimeSpan max, Random random)
    {
        (_min, _max, _random) = (min, max, random);
        _step = min;
    }

    /// <summary>Work was found: the next empty poll waits <c>min</c> again.</summary>
    public void Reset() => _step = _min;

    /// <summary>How long to wait after this empty poll: between half the step and the step; the step then doubles.</summary>
    public TimeSpan Next()
    {
        var wait = _step * (0.5 + (_random.NextDouble() / 2));
        _step = TimeSpan.FromTicks(Math.Min(_step.Ticks * 2, _max.Ticks));
        return wait;
    }
}
