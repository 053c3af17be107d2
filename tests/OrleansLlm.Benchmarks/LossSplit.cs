using OrleansLlm.Benchmarks.Infrastructure;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// Where one backend's idle slot-seconds went, by phase of the run, from the calls the harness saw: a slot is busy for
/// an answer's service time (prompt + generation), ending as the answer came back; a request is out from its sending
/// to its answer. Phases, from the push: <see cref="Wake"/> until the backend's first request; <see cref="Climb"/>
/// until its peak's worth of slots (all of them, or a cliff's peak) were first busy at once; <see cref="Middle"/> until the ready list was first seen empty; then
/// <see cref="Tail"/>, split at the last request any backend was sent (<see cref="TailAfterLastSent"/> after it).
/// </summary>
/// <remarks>
/// The middle's loss is split into slots with no request out (<see cref="MiddleUnsent"/>: the limit below the slots,
/// or the moment between an answer and the next request) and requests out that held no slot (the rest: the HTTP trip
/// both ways, and the server's own parsing). Busy is derived from the answers' own durations, so the sum is within a
/// fraction of a percent of the simulators' busy-slot seconds, not equal to it.
/// </remarks>
/// <param name="FirstSent">Seconds from the push to the backend's first request: what its wake was.</param>
public sealed record LossSplit(int Slots, double Capacity, double Wake, double Climb, double Middle, double MiddleUnsent, double Tail, double TailAfterLastSent, double FirstSent)
{
    public double Idle => Wake + Climb + Middle + Tail;

    /// <summary>Each backend's split, in backend order; times are seconds since <paramref name="pushedAt"/>.</summary>
    public static IReadOnlyList<LossSplit> Of(
        IReadOnlyList<CallSample> calls, IReadOnlyList<(string Backend, int Slots, int Peak)> backends, DateTimeOffset pushedAt, double makespan, double? queueEmptySeconds)
    {
        double Since(DateTimeOffset at) => (at - pushedAt).TotalSeconds;
        var lastSent = calls.Count == 0 ? makespan : calls.Max(c => Since(c.SentAt));
        var empty = Math.Min(queueEmptySeconds ?? makespan, makespan);
        return backends.Select(b =>
        {
            var own = calls.Where(c => c.Backend == b.Backend).ToArray();
            // (time, change in requests out, change in busy slots), in time order.
            var events = own.SelectMany(c => new[]
            {
                (At: Since(c.SentAt), Out: 1, Busy: 0),
                (At: Since(c.AnsweredAt) - c.ServiceSeconds, Out: 0, Busy: 1),
                (At: Since(c.AnsweredAt), Out: -1, Busy: -1),
            }).OrderBy(e => e.At).ThenBy(e => -e.Out - e.Busy).ToArray();
            var first = own.Length == 0 ? makespan : own.Min(c => Since(c.SentAt));
            var full = FirstFull(events, b.Peak) ?? makespan;
            double[] bounds = [0, first, Math.Max(first, full), Math.Max(full, empty), Math.Max(empty, lastSent), makespan];
            var (idle, unsent) = Integrate(events, b.Slots, bounds);
            return new LossSplit(b.Slots, b.Slots * makespan, idle[0], idle[1], idle[2], unsent[2], idle[3] + idle[4], idle[4], first);
        }).ToArray();
    }

    /// <summary>The sum over backends, shares of the whole capacity.</summary>
    public static string Describe(IReadOnlyList<LossSplit> splits)
    {
        var capacity = splits.Sum(s => s.Capacity);
        string P(Func<LossSplit, double> f) => (splits.Sum(f) / capacity).ToString("P1", System.Globalization.CultureInfo.InvariantCulture);
        return $"idle {P(s => s.Idle)} of the slot-seconds: wake {P(s => s.Wake)}, climb {P(s => s.Climb)}, middle {P(s => s.Middle)} " +
            $"(no request out {P(s => s.MiddleUnsent)}), tail {P(s => s.Tail)} (after the last request sent {P(s => s.TailAfterLastSent)}); " +
            $"first request {string.Join(" · ", splits.Select(s => s.FirstSent.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))} s after the push";
    }

    private static double? FirstFull(IEnumerable<(double At, int Out, int Busy)> events, int peak)
    {
        var busy = 0;
        foreach (var e in events)
        {
            busy += e.Busy;
            if (busy >= peak)
            {
                return e.At;
            }
        }

        return null;
    }

    /// <summary>Idle slot-seconds, and those with no request out, in each span between consecutive <paramref name="bounds"/>.</summary>
    private static (double[] Idle, double[] Unsent) Integrate(IReadOnlyList<(double At, int Out, int Busy)> events, int slots, double[] bounds)
    {
        var idle = new double[bounds.Length - 1];
        var unsent = new double[bounds.Length - 1];
        var (busy, inFlight, at) = (0, 0, 0.0);
        void Add(double until)
        {
            for (var p = 0; p < idle.Length; p++)
            {
                var overlap = Math.Min(until, bounds[p + 1]) - Math.Max(at, bounds[p]);
                if (overlap > 0)
                {
                    idle[p] += overlap * (slots - Math.Min(busy, slots));
                    unsent[p] += overlap * (slots - Math.Min(inFlight, slots));
                }
            }

            at = Math.Max(at, until);
        }

        foreach (var e in events)
        {
            Add(e.At);
            busy += e.Busy;
            inFlight += e.Out;
        }

        Add(bounds[^1]);
        return (idle, unsent);
    }
}
