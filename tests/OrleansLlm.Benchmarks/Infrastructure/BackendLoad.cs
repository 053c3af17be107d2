namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>
/// Generate requests in flight at one backend, as its callers see them: when the first was sent, and when each new
/// high of requests in flight was first reached. Tells how fast a design filled a backend's slots, to the
/// millisecond, where a sampled concurrency limit only says it once a second.
/// </summary>
public sealed class BackendLoad
{
    private readonly Lock _gate = new();
    private readonly List<(DateTimeOffset At, int InFlight)> _highs = [];
    private int _inFlight;

    public DateTimeOffset? FirstSent
    {
        get
        {
            lock (_gate)
            {
                return _highs.Count == 0 ? null : _highs[0].At;
            }
        }
    }

    /// <summary>When <paramref name="inFlight"/> requests were first in flight together, or null if never.</summary>
    public DateTimeOffset? FirstReached(int inFlight)
    {
        lock (_gate)
        {
            foreach (var (at, count) in _highs)
            {
                if (count >= inFlight)
                {
                    return at;
                }
            }

            return null;
        }
    }

    public void Sending()
    {
        lock (_gate)
        {
            _inFlight++;
            if (_highs.Count == 0 || _inFlight > _highs[^1].InFlight)
            {
                _highs.Add((DateTimeOffset.UtcNow, _inFlight));
            }
        }
    }

    public void Done()
    {
        lock (_gate)
        {
            _inFlight--;
        }
    }
}
