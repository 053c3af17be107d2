namespace OllamaSim;

/// <summary>A bounded ring of the most recent <see cref="RecordedRequest"/>s; older ones are dropped and counted. Thread-safe.</summary>
internal sealed class RequestLog(int capacity, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Queue<RecordedRequest> _ring = new(Math.Min(capacity, 1024));
    private long _sequence;
    private long _recorded;
    private long _dropped;

    public void Record(RecordedRequest request)
    {
        lock (_gate)
        {
            _recorded++;
            if (capacity == 0)
            {
                _dropped++;
                return;
            }

            if (_ring.Count == capacity)
            {
                _ring.Dequeue();
                _dropped++;
            }

            _ring.Enqueue(request with { Sequence = ++_sequence, ReceivedAt = time.GetUtcNow() });
        }
    }

    /// <summary>The last <paramref name="limit"/> requests (all when null) with a sequence above <paramref name="since"/>, oldest first.</summary>
    public RecordedRequests Read(int? limit = null, long? since = null)
    {
        if (limit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "must not be negative");
        }

        lock (_gate)
        {
            var matching = _ring.Where(r => r.Sequence > (since ?? 0)).ToList();
            var requests = limit is { } n && matching.Count > n ? matching[^n..] : matching;
            return new RecordedRequests(capacity, _recorded, _dropped, requests);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _ring.Clear();
            _recorded = 0;
            _dropped = 0;
        }
    }
}
