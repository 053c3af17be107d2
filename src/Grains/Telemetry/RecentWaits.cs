namespace OrleansLlm.Telemetry;

/// <summary>
/// The Ollama queue waits of a worker's latest answers, for the p99 its heartbeat reports (<c>orleansllm top</c>).
/// </summary>
/// <remarks>
/// Only recent answers count, at most <see cref="Capacity"/> of them and none older than <see cref="Window"/>, so the
/// figure follows a change of load within a minute, and a worker that answered nothing for that long reports none.
/// Not thread-safe: it belongs to the worker grain, which runs one turn at a time.
/// </remarks>
public sealed class RecentWaits(TimeProvider time)
{
    public const int Capacity = 256;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly (long At, TimeSpan Wait)[] _samples = new (long, TimeSpan)[Capacity];
    private int _next;
    private int _count;

    public void Add(TimeSpan wait)
    {
        _samples[_next] = (time.GetTimestamp(), wait);
        _next = (_next + 1) % Capacity;
        _count = Math.Min(_count + 1, Capacity);
    }

    /// <summary>The nearest-rank 99th percentile of the recent waits; zero when there are none.</summary>
    public TimeSpan P99()
    {
        var now = time.GetTimestamp();
        var recent = new List<TimeSpan>(_count);
        for (var i = 0; i < _count; i++)
        {
            var (at, wait) = _samples[i];
            if (time.GetElapsedTime(at, now) <= Window)
            {
                recent.Add(wait);
            }
        }

        if (recent.Count == 0)
        {
            return TimeSpan.Zero;
        }

        recent.Sort();
        return recent[Math.Clamp((int)Math.Ceiling(0.99 * recent.Count) - 1, 0, recent.Count - 1)];
    }
}
