using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Finds and tracks the number of requests in flight that gets the most out of one Ollama without letting requests
/// queue inside it. Ollama never pushes back (beyond its slots it queues silently), so the controller reads the
/// durations of each answer:
/// <list type="bullet">
/// <item><b>Room</b> is found with one probe request beyond the limit. If it waited for a slot
/// (<see cref="Generation.QueueWait"/> above <see cref="QueueTolerance"/> of its service time), the limit is the
/// knee; if not, the limit steps up. A probe costs at most that one request's wait, never a queue.</item>
/// <item><b>Gain</b>: each window of answers at a limit gives a throughput, <c>limit ÷ time per generated token</c>
/// (per token, so long and short answers compare). A step up that buys less than <see cref="MinGain"/> in two
/// windows running marks the knee at the limit below: free slots that add no throughput only add latency.</item>
/// <item><b>Shrinking capacity</b>: if answers at the limit start waiting (the backend serves fewer in parallel),
/// the slots busy are <c>limit × service ÷ (service + wait)</c> by Little's law, and the limit drops straight there.</item>
/// <item><b>Pace</b>: until the first knee it probes after every couple of answers, so a big backend fills in a few
/// service times. At the knee it probes now and then, since the backend may change: soon after a new knee (a noisy
/// window may have set it), then less often, up to every 32 windows and
/// <see cref="WorkerOptions.ConcurrencyProbeInterval"/>. Errors and timeouts halve the limit; below a known knee
/// it doubles back.</item>
/// </list>
/// </summary>
/// <remarks>Not thread-safe: each worker owns one, and a grain runs one turn at a time.</remarks>
public sealed class AdaptiveConcurrencyController : IConcurrencyController
{
    /// <summary>Waiting below this share of the service time is noise (a slot freeing as a request arrives).</summary>
    public const double QueueTolerance = 0.05;

    /// <summary>A step up must raise throughput by at least this much to be worth its latency.</summary>
    public const double MinGain = 0.01;

    private const int MinWindow = 4;

    // While no knee is known, decide on small windows: climbing fast matters more than a noisy step, which the
    // re-probes of a young knee correct.
    private const int ClimbWindow = 2;

    // A young knee (maybe set by one noisy answer) is re-checked after a window; each probe that confirms it doubles
    // the wait, up to this many windows and the probe interval. Probes are cheap: one request waits, at most until a
    // slot frees.
    private const int FirstProbeAfterWindows = 1;

    // A knee that a second probe confirms with a wait of half a service time or more met a real queue, not noise
    // (a cold start, say): it is trusted, and re-probed much later. That matters beside a one-slot Ollama, where
    // every probe waits up to a whole service time.
    private const double ClearQueueShare = 0.5;
    private const int TrustedKneeProbeAfterWindows = 8;
    private const int MaxWindowsBetweenProbes = 32;

    private readonly TimeProvider _time;
    private readonly int _cap;
    private readonly TimeSpan _probeInterval;
    private readonly List<Sample> _window = [];
    private long _epoch;
    private ProbeState _probe;
    private long _rounds;
    private long _round;
    private int _roundOutstanding;
    private double _roundMaxShare;
    private Sample _probeSample;
    private int? _knee;
    private double? _throughput;
    private double? _throughputBelow;
    private int _limitBelow;
    private bool _noGainOnce;
    private long _lastProbe;
    private int _windowsHeld;
    private int _windowsBetweenProbes = FirstProbeAfterWindows;

    public AdaptiveConcurrencyController(IOptions<WorkerOptions> options, TimeProvider time)
    {
        _time = time;
        _cap = options.Value.MaxConcurrency;
        _probeInterval = options.Value.ConcurrencyProbeInterval;
        Limit = Math.Min(options.Value.InitialConcurrency, _cap);
        _lastProbe = time.GetTimestamp();
    }

    private enum ProbeState
    {
        None,
        Wanted,
        Outstanding,

        /// <summary>The probe answered; the rest of its round has not.</summary>
        Answered,
    }

    public int Limit { get; private set; }

    public int InFlightAllowed => _probe == ProbeState.Wanted ? Limit + 1 : Limit;

    /// <summary>The highest limit found to serve without queueing, once one is known.</summary>
    public int? Knee => _knee;

    // Above the knee (or with none yet) after a probe found room: keep probing and deciding on small windows. The old
    // knee stays known, so a step that a window then refutes falls back to it as a confirmed knee, not a new one.
    private bool Climbing => _knee is null || Limit > _knee;

    /// <summary>Probes sent so far.</summary>
    public int Probes { get; private set; }

    public ConcurrencyTicket OnSent(int inFlight)
    {
        if (_probe != ProbeState.Wanted)
        {
            return new ConcurrencyTicket(_epoch, Probe: false);
        }

        // Every request sent while a probe is wanted, the probe last, belongs to its round: one sent just before the
        // probe may reach Ollama after it and wait in its place, so the round's answers decide together.
        _roundOutstanding++;
        if (_probe == ProbeState.Wanted && inFlight >= Limit)
        {
            _probe = ProbeState.Outstanding;
            Probes++;
            return new ConcurrencyTicket(_epoch, Probe: true, _round);
        }

        return new ConcurrencyTicket(_epoch, Probe: false, _round);
    }

    public void OnSuccess(ConcurrencyTicket ticket, Generation generation)
    {
        // Requests sent under another limit say nothing about this one.
        if (ticket.Epoch != _epoch)
        {
            return;
        }

        var sample = Sample.Of(generation);
        if (ticket.Round == _round && ticket.Round != 0)
        {
            _roundOutstanding--;
            _roundMaxShare = Math.Max(_roundMaxShare, sample.QueueShare);
            if (ticket.Probe)
            {
                _probe = ProbeState.Answered;
                _probeSample = sample;
            }

            if (_probe == ProbeState.Answered && _roundOutstanding == 0)
            {
                var (probe, maxShare) = (_probeSample, _roundMaxShare);
                EndRound();
                OnProbeAnswered(probe, maxShare);
                return;
            }

            if (ticket.Probe)
            {
                return;
            }
        }

        _window.Add(sample);
        if (_window.Count >= (Climbing ? ClimbWindow : Math.Max(MinWindow, 2 * Limit)))
        {
            Evaluate();
        }
    }

    public void OnFailure(ConcurrencyTicket ticket)
    {
        _throughputBelow = null;
        SetLimit(Math.Max(1, Limit / 2));
    }

    public void OnAbandoned(ConcurrencyTicket ticket)
    {
        if (ticket.Epoch == _epoch && ticket.Round == _round && ticket.Round != 0)
        {
            // The round can't be judged without all its answers: start another with the next requests.
            EndRound();
            _probe = ProbeState.Wanted;
            _round = ++_rounds;
        }
    }

    private void EndRound()
    {
        _probe = ProbeState.None;
        _round = 0;
        _roundOutstanding = 0;
        _roundMaxShare = 0;
    }

    private void WantProbe()
    {
        _probe = ProbeState.Wanted;
        _round = ++_rounds;
    }

    private void OnProbeAnswered(Sample probe, double roundMaxShare)
    {
        if (roundMaxShare > QueueTolerance)
        {
            // No free slot: the limit is the knee.
            SetKnee(Limit, trusted: roundMaxShare >= ClearQueueShare);
            return;
        }

        // Throughput one step up, from the probe's own time per token; null when the answer can't tell.
        double? above = probe.SecondsPerToken > 0 ? (Limit + 1) / probe.SecondsPerToken : null;
        var climbing = _knee is null || Limit >= _knee;
        if (climbing && above < _throughput * (1 + MinGain))
        {
            // A free slot that adds no throughput would only add latency.
            SetKnee(Limit);
            return;
        }

        // A free slot that pays: take it. The next windows check the gain over more answers; while no knee is
        // known, the next probe goes out at once, so the climb takes about one service time a step.
        _limitBelow = Limit;
        _throughputBelow = _throughput;
        _throughput = _throughput is null ? null : above;
        SetLimit(Limit + 1);
        if (Climbing && Limit < _cap && _throughput is not null)
        {
            WantProbe();
        }
    }

    private void Evaluate()
    {
        var queueShare = Median(_window.Select(s => s.QueueShare));
        var perToken = Median(_window.Where(s => !double.IsNaN(s.SecondsPerToken)).Select(s => s.SecondsPerToken));
        var service = _window.Sum(s => s.Service);
        var total = service + _window.Sum(s => s.Wait);
        _window.Clear();

        if (queueShare > QueueTolerance && Limit > 1)
        {
            // Answers at this limit wait: the backend serves fewer in parallel than before. Drop to the slots it kept busy.
            var busy = total > 0 ? (int)Math.Round(Limit * service / total) : Limit - 1;
            SetKnee(Math.Clamp(busy, 1, Math.Max(1, Limit - 1)), trusted: queueShare >= ClearQueueShare);
            return;
        }

        var throughput = perToken > 0 ? Limit / perToken : double.PositiveInfinity;
        if (_throughputBelow is { } below && throughput < below * (1 + MinGain))
        {
            // The last step up bought (almost) nothing. One window is noisy; two in a row are an answer.
            if (!_noGainOnce)
            {
                _noGainOnce = true;
                return;
            }

            SetKnee(_limitBelow);
            return;
        }

        _noGainOnce = false;
        _throughputBelow = null;
        _throughput = throughput;
        if (Limit >= _cap || _probe != ProbeState.None)
        {
            return;
        }

        if (_knee is { } knee && Limit < knee)
        {
            // Below a limit known to serve well (after errors): double back without probing.
            _limitBelow = Limit;
            _throughputBelow = throughput;
            SetLimit(Math.Min(knee, 2 * Limit));
            return;
        }

        var probeDue = Climbing
            || (_windowsHeld >= _windowsBetweenProbes
                && (_windowsBetweenProbes < MaxWindowsBetweenProbes || _time.GetElapsedTime(_lastProbe) >= _probeInterval));
        if (probeDue)
        {
            WantProbe();
            _lastProbe = _time.GetTimestamp();
            _windowsHeld = 0;
            return;
        }

        _windowsHeld++;
    }

    private void SetKnee(int knee, bool trusted = false)
    {
        // A knee confirmed again waits longer for its next probe, much longer if the probe clearly queued; a new one
        // is re-checked soon.
        _windowsBetweenProbes = knee != _knee
            ? FirstProbeAfterWindows
            : Math.Min(Math.Max(2 * _windowsBetweenProbes, trusted ? TrustedKneeProbeAfterWindows : 0), MaxWindowsBetweenProbes);
        _noGainOnce = false;
        _windowsHeld = 0;
        _knee = knee;
        _throughputBelow = null;
        if (knee != Limit)
        {
            _throughput = null;
        }

        SetLimit(knee);
    }

    private void SetLimit(int limit)
    {
        _epoch++;
        EndRound();
        _window.Clear();
        Limit = Math.Clamp(limit, 1, _cap);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
    }

    private readonly record struct Sample(double QueueShare, double SecondsPerToken, double Service, double Wait)
    {
        public static Sample Of(Generation generation)
        {
            var service = generation.ServiceTime.TotalSeconds;
            var wait = generation.QueueWait.TotalSeconds;
            return new Sample(
                service > 0 ? wait / service : 0,
                generation.EvalCount > 0 ? generation.EvalDuration.TotalSeconds / generation.EvalCount : double.NaN,
                service,
                wait);
        }
    }
}
