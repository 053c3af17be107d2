using OrleansLlm.Queue;

namespace OrleansLlm.Worker;

/// <summary>
/// The items a worker has leased ahead of its free slots (lease ahead), in lease order, and how many it keeps, so a
/// slot that frees starts its next item at once instead of waiting a Redis round trip for a lease.
/// </summary>
/// <remarks>
/// <para>
/// The rule (<see cref="Target"/>): a worker with <c>limit</c> slots, each busy one service time per item, frees
/// <c>limit ÷ serviceTime</c> slots a second. It keeps what its slots free in <see cref="Window"/>, or in two lease
/// round trips when those take longer (the buffer is topped up by one lease call at a time, and answers come in
/// bursts): <c>limit × max(Window, 2 × leaseRoundTrip) ÷ serviceTime</c>, rounded up, at least 1 and at most
/// <c>Worker:MaxLeaseAhead</c>. Both times are averages of what the worker measured; until it has measured both, it
/// keeps 1. A CPU Ollama (seconds an item) keeps 1; a backend answering in a millisecond keeps enough that one lease
/// call brings several items, which is what makes a lease cheap for Redis. When the queue has no work, the buffer
/// simply stays empty.
/// </para>
/// <para>
/// Buffered items are leases like those in flight: renewed with them, counted in <c>Q:inflight</c> (so by KEDA) and in
/// the pod's deletion cost, and handed back first, unstarted, when the worker drains or its backend breaks.
/// </para>
/// <para>Not thread-safe: it belongs to the worker grain, which runs one turn at a time.</para>
/// </remarks>
public sealed class LeaseBuffer(int maxLeaseAhead)
{
    // Each new sample weighs an eighth, as in TCP's round-trip estimate: steady, yet following a change within a few dozen samples.
    private const double Weight = 0.125;

    /// <summary>The work the buffer covers at least: long enough that a lease call carries several fast items, short
    /// enough that no item waits behind a silo's buffer for long while another silo idles.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(10);

    private readonly Queue<Lease> _leases = new();
    private double _roundTripTicks;
    private double _serviceTicks;

    public int Count => _leases.Count;

    /// <summary>The buffered leases' ids, in lease order (for renewal).</summary>
    public IEnumerable<string> Ids => _leases.Select(l => l.Id);

    /// <summary>The average lease round trip measured so far (zero before the first).</summary>
    public TimeSpan LeaseRoundTrip => TimeSpan.FromTicks((long)_roundTripTicks);

    /// <summary>The average time an item's call took so far (zero before the first).</summary>
    public TimeSpan ServiceTime => TimeSpan.FromTicks((long)_serviceTicks);

    /// <summary>How many items to keep leased ahead for a worker of <paramref name="limit"/> slots; 0 when lease ahead is off.</summary>
    public int Target(int limit)
    {
        if (maxLeaseAhead <= 0 || limit <= 0)
        {
            return 0;
        }

        if (_roundTripTicks <= 0 || _serviceTicks <= 0)
        {
            return 1;
        }

        var covering = Math.Ceiling(limit * Math.Max(Window.Ticks, 2 * _roundTripTicks) / _serviceTicks);
        return (int)Math.Clamp(covering, 1, maxLeaseAhead);
    }

    public void Add(IEnumerable<Lease> leases)
    {
        foreach (var lease in leases)
        {
            _leases.Enqueue(lease);
        }
    }

    /// <summary>The oldest buffered lease, for a slot that is free.</summary>
    public bool TryTake(out Lease lease) => _leases.TryDequeue(out lease!);

    /// <summary>Empties the buffer, in lease order (to hand the items back).</summary>
    public Lease[] TakeAll()
    {
        var all = _leases.ToArray();
        _leases.Clear();
        return all;
    }

    /// <summary>A lease call came back after <paramref name="roundTrip"/>.</summary>
    public void OnLeased(TimeSpan roundTrip) => _roundTripTicks = Smooth(_roundTripTicks, roundTrip);

    /// <summary>Ollama served an item's call in <paramref name="serviceTime"/>, from sending it to its answer.</summary>
    public void OnServed(TimeSpan serviceTime) => _serviceTicks = Smooth(_serviceTicks, serviceTime);

    private static double Smooth(double average, TimeSpan sample) =>
        sample <= TimeSpan.Zero ? average
        : average <= 0 ? sample.Ticks
        : average + (Weight * (sample.Ticks - average));
}
