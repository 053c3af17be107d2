using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Finds and tracks the number of requests in flight that gets the most out of one Ollama without letting requests
/// queue inside it. Ollama never pushes back (beyond its slots it queues silently), so the controller reads the
/// durations of each answer:
/// <list type="bullet">
/// <item><b>Slow start</b>: until the first knee, each round sends as many probe requests beyond the limit as the
/// limit itself, and doubles the limit if none of them waited for a slot and throughput grew (like TCP's slow start),
/// so a 32-slot backend is full after five rounds, about five service times. A round in which requests waited marks
/// the first knee: Ollama queues in order, so the requests that did not wait are the slots it has. A doubling that
/// pays less than <see cref="MinGain"/> per request added brackets the knee between half the limit and twice it: the
/// limit holds, and the step search takes over, looking down as well as up. So does a doubling that pays clearly less
/// than the one before (the curve bends towards a peak), from the doubled limit. A round that would end slow start
/// by a short wait, no gain or a bend is run once more before it is believed: on a busy machine one round's few
/// answers can show all three where there is none, and stopping early costs a long climb.</item>
/// <item><b>Room</b> is then found with one probe request beyond the limit. If it waited for a slot
/// (<see cref="Generation.QueueWait"/> above <see cref="QueueTolerance"/> of its service time, or until the next
/// answer freed one), the limit is the knee; if not, the limit steps up, and while each step pays, the next round
/// sends twice the probes of the last (1, 2, 4, …), so a backend far above its limit is full in a few rounds.
/// Probes take the place of the next requests to answer, so a probe costs at most its own wait, never a queue.</item>
/// <item><b>Gain</b>: each window of answers at a limit gives a throughput, <c>limit ÷ time per generated token</c>
/// (per token, so long and short answers compare). A step up that buys less than <see cref="MinGain"/> per request
/// added in two windows running marks the knee at the limit below: free slots that add no throughput only add
/// latency. A step that <i>loses</i> throughput means the backend is past a peak (a cliff: memory pressure), which may lie lower
/// still, so the controller steps down while the step below serves as well.</item>
/// <item><b>Shrinking capacity</b>: if answers at the limit wait, together, more than <see cref="QueueTolerance"/> of
/// their service (the backend serves fewer in parallel),
/// the slots busy are <c>limit × service ÷ (service + wait)</c> by Little's law, and the limit drops straight there.</item>
/// <item><b>Pace</b>: at the knee it probes now and then, since the backend may change: soon after a new knee (a noisy
/// window may have set it), then less often, up to every 32 windows and
/// <see cref="WorkerOptions.ConcurrencyProbeInterval"/>. Errors and timeouts halve the limit, once for all the
/// requests that were in flight together; below a known knee it doubles back.</item>
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

    // While a step up is unconfirmed, decide on small windows: climbing fast matters more than a noisy step, which
    // the re-probes of a young knee correct.
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

    // Slow start stops doubling once a doubling scales throughput clearly less than the one before: the curve bends,
    // as it does towards a peak, and one more doubling could land far past it, where a backend with a steep cliff
    // crawls until the whole round has answered. A backend that scales as k^e never bends, so it doubles to its slots.
    private const double BendingShare = 0.75;

    private readonly TimeProvider _time;
    private readonly int _cap;
    private readonly TimeSpan _probeInterval;
    private readonly List<Sample> _window = [];
    private readonly List<double> _roundSecondsPerToken = [];
    private long _epoch;
    private long _cutEpoch;
    private bool _slowStart;
    private ProbeState _probe;
    private long _rounds;
    private long _round;
    private int _roundProbes;
    private int _roundProbesSent;
    private int _roundProbesAnswered;
    private int _roundOutstanding;
    private int _roundWaited;
    private double _roundMaxShare;
    private long _roundSentAt;
    private TimeSpan? _roundFirstAnswer;
    private int? _knee;
    private double? _throughput;
    private double? _lastScaling;
    private double? _throughputBelow;
    private int _limitBelow;
    private Step? _stepDown;
    private bool _lookDown;
    private bool _noGainOnce;
    private bool _doubted;
    private int _climbProbes = 1;
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
        // The first round goes out with the first requests: one service time sooner than measuring the limit alone.
        _slowStart = Limit < _cap;
        if (_slowStart)
        {
            WantProbes(SlowStartProbes);
        }
    }

    private enum ProbeState
    {
        None,
        Wanted,
        Outstanding,

        /// <summary>The probes answered; the rest of their round has not.</summary>
        Answered,
    }

    public int Limit { get; private set; }

    // Once out, probes take the place of the next requests to answer: only they can wait for a slot, never a queue
    // of requests behind them.
    public int InFlightAllowed => _probe == ProbeState.Wanted ? Limit + _roundProbes : Limit;

    /// <summary>The highest limit found to serve without queueing, once one is known.</summary>
    public int? Knee => _knee;

    /// <summary>Probes sent so far.</summary>
    public int Probes { get; private set; }

    // Above the knee (or with none yet) after a probe found room: keep probing and deciding on small windows. The old
    // knee stays known, so a step that a window then refutes falls back to it as a confirmed knee, not a new one.
    private bool Climbing => _knee is null || Limit > _knee;

    private int SlowStartProbes => Math.Min(Limit, _cap - Limit);

    public ConcurrencyTicket OnSent(int inFlight)
    {
        if (_probe != ProbeState.Wanted)
        {
            return new ConcurrencyTicket(_epoch, Probe: false);
        }

        // Every request sent while probes are wanted, the probes last, belongs to their round: one sent just before a
        // probe may reach Ollama after it and wait in its place, so the round's answers decide together.
        _roundOutstanding++;
        if (inFlight >= Limit)
        {
            Probes++;
            if (++_roundProbesSent == _roundProbes)
            {
                _probe = ProbeState.Outstanding;
                _roundSentAt = _time.GetTimestamp();
            }

            return new ConcurrencyTicket(_epoch, Probe: true, _round);
        }

        return new ConcurrencyTicket(_epoch, Probe: false, _round);
    }

    public void OnSuccess(ConcurrencyTicket ticket, Generation generation)
    {
        NoteSlotFreed();

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
            if (WaitedForASlot(sample))
            {
                _roundWaited++;
            }

            if (!double.IsNaN(sample.SecondsPerToken))
            {
                _roundSecondsPerToken.Add(sample.SecondsPerToken);
            }

            if (ticket.Probe && ++_roundProbesAnswered == _roundProbes)
            {
                _probe = ProbeState.Answered;
            }

            if (_probe == ProbeState.Answered && _roundOutstanding == 0)
            {
                var round = new Round(Limit + _roundProbes, _roundWaited, _roundMaxShare, Median(_roundSecondsPerToken));
                EndRound();
                if (_slowStart)
                {
                    OnSlowStartRound(round);
                }
                else
                {
                    OnProbeAnswered(round);
                }

                return;
            }

            if (ticket.Probe)
            {
                return;
            }
        }

        // In slow start the rounds decide; answers beside them ran at the round's limit, not this one.
        if (_slowStart)
        {
            return;
        }

        _window.Add(sample);
        if (_window.Count >= (Climbing ? ClimbWindow : Math.Max(MinWindow, 2 * Limit)))
        {
            Evaluate();
        }
    }

    public void OnFailure(ConcurrencyTicket ticket)
    {
        NoteSlotFreed();

        // A request sent before the last cut had its part in it: N requests that fail together (Ollama restarting,
        // a timeout hitting everything in flight) halve the limit once, not N times.
        if (ticket.Epoch < _cutEpoch)
        {
            return;
        }

        _throughputBelow = null;
        _stepDown = null;
        _lookDown = false;
        _noGainOnce = false;
        _climbProbes = 1;
        SetLimit(Math.Max(1, Limit / 2));
        _cutEpoch = _epoch;
        if (_slowStart)
        {
            // Climb again from half, without comparing to a throughput measured before the failure.
            _throughput = null;
            _lastScaling = null;
            _doubted = false;
            WantProbes(SlowStartProbes);
        }
    }

    public void OnAbandoned(ConcurrencyTicket ticket)
    {
        NoteSlotFreed();
        if (ticket.Epoch == _epoch && ticket.Round == _round && ticket.Round != 0)
        {
            // The round can't be judged without all its answers: start another with the next requests.
            var probes = _roundProbes;
            EndRound();
            WantProbes(probes);
        }
    }

    /// <summary>Remembers when the first slot freed after a round went out; see <see cref="WaitedForASlot"/>.</summary>
    private void NoteSlotFreed()
    {
        if (_probe is ProbeState.Outstanding or ProbeState.Answered)
        {
            _roundFirstAnswer ??= _time.GetElapsedTime(_roundSentAt);
        }
    }

    private void EndRound()
    {
        _probe = ProbeState.None;
        _round = 0;
        _roundProbesSent = 0;
        _roundProbesAnswered = 0;
        _roundOutstanding = 0;
        _roundWaited = 0;
        _roundMaxShare = 0;
        _roundFirstAnswer = null;
        _roundSecondsPerToken.Clear();
    }

    /// <summary>
    /// Whether a request of the round found every slot busy. A wait above <see cref="QueueTolerance"/> says so; so does
    /// a shorter one that lasted until the first answer after the round went out: with many slots one frees every few
    /// hundredths of a service time, so a probe beside full slots often waits only that long, but it waited all the
    /// same, where a probe that found a free slot does not wait at all.
    /// </summary>
    private bool WaitedForASlot(Sample sample) =>
        sample.QueueShare > QueueTolerance
        || (sample.Wait > 0 && _roundFirstAnswer is { } firstAnswer && sample.Wait >= firstAnswer.TotalSeconds / 2);

    private void WantProbes(int probes)
    {
        _probe = ProbeState.Wanted;
        _round = ++_rounds;
        _roundProbes = probes;
    }

    private void OnSlowStartRound(Round round)
    {
        if (round.Waited > 0)
        {
            // A short wait may be no queue at all: a cold server counts its own set-up (a fresh process, its first
            // connections) in its first answers' total duration. The very first round, which only a one-slot Ollama
            // could make wait, doubles instead: the next round's waits count the slots.
            if (round.MaxShare < ClearQueueShare && _rounds == 1)
            {
                Double(round);
                return;
            }

            if (round.MaxShare < ClearQueueShare && Doubt())
            {
                return;
            }

            // Ollama serves in order of arrival: the requests that did not wait are the slots it has.
            _slowStart = false;
            SetKnee(Math.Clamp(round.InFlight - round.Waited, 1, round.InFlight - 1), trusted: round.MaxShare >= ClearQueueShare);
            return;
        }

        var throughput = round.SecondsPerToken > 0 ? round.InFlight / round.SecondsPerToken : double.PositiveInfinity;
        var noGain = _throughput is { } below && throughput < below * Math.Pow(1 + MinGain, round.InFlight - Limit);

        // The exponent e of throughput ∝ in-flight^e over this round's step. It paid, but clearly less than the step
        // before: the curve bends, as towards a peak.
        double? scaling = _throughput is { } before ? Math.Log(throughput / before) / Math.Log((double)round.InFlight / Limit) : null;
        var bends = scaling < BendingShare * _lastScaling;
        if ((noGain || bends) && Doubt())
        {
            return;
        }

        _doubted = false;
        if (noGain)
        {
            // The added requests bought less than MinGain each: the knee lies between half this limit and the round's
            // in flight. Hold here; the windows look one step down, and probes up.
            _slowStart = false;
            SetKnee(Limit);
            _lookDown = true;
            return;
        }

        _throughput = throughput;
        if (bends)
        {
            // Hold here as a young knee, and look one step down before the probes look up.
            _slowStart = false;
            SetKnee(round.InFlight);
            _lookDown = true;
            return;
        }

        // No hardware scales better than linearly: a doubling that measured so only had a slow round before it, and
        // would make the next, ordinary doubling look like a bend.
        _lastScaling = Math.Min(scaling ?? 1, 1);
        Double(round);
    }

    /// <summary>Takes the round's in flight as the limit; slow start goes on below the cap, and ends at it.</summary>
    private void Double(Round round)
    {
        SetLimit(round.InFlight);
        _slowStart = Limit < _cap;
        if (_slowStart)
        {
            WantProbes(SlowStartProbes);
        }
    }

    /// <summary>
    /// Whether to run the round again before believing that it ends slow start: one round's few answers on a busy
    /// machine can look like a short queue or a bend that is not there, and stopping early costs a long climb. A round
    /// is doubted once; the second says.
    /// </summary>
    private bool Doubt()
    {
        if (_doubted)
        {
            return false;
        }

        _doubted = true;
        WantProbes(SlowStartProbes);
        return true;
    }

    private void OnProbeAnswered(Round round)
    {
        if (round.Waited > 0)
        {
            // No free slot for some: those that did not wait are the slots (Ollama serves in order of arrival).
            SetKnee(Math.Clamp(round.InFlight - round.Waited, Limit, round.InFlight - 1), trusted: round.MaxShare >= ClearQueueShare);
            return;
        }

        // Free slots: take them. The probes' own time per token can't say whether the step pays (their round frees
        // slots that are not refilled, so they run mostly beside the limit's requests), so the next windows check the
        // gain before anything probes further. If they find room again, twice as many probe: a backend with many
        // more slots than the limit (a knee set by noise, or a GPU freed by another model) is full in a few rounds.
        var probes = round.InFlight - Limit;
        _limitBelow = Limit;
        _throughputBelow = _throughput;
        SetLimit(round.InFlight);
        _climbProbes = 2 * probes;
    }

    private void Evaluate()
    {
        var perToken = Median(_window.Where(s => !double.IsNaN(s.SecondsPerToken)).Select(s => s.SecondsPerToken));
        var service = _window.Sum(s => s.Service);
        var total = service + _window.Sum(s => s.Wait);
        // The window's wait against its service, not the median answer's: two requests over 32 slots queue for good,
        // yet most answers never wait.
        var queueShare = service > 0 ? (total - service) / service : 0;
        _window.Clear();

        if (queueShare > QueueTolerance && Limit > 1)
        {
            // Answers at this limit wait: the backend serves fewer in parallel than before. Drop to the slots it kept busy.
            var busy = total > 0 ? (int)Math.Round(Limit * service / total) : Limit - 1;
            SetKnee(Math.Clamp(busy, 1, Math.Max(1, Limit - 1)), trusted: queueShare >= ClearQueueShare);
            return;
        }

        var throughput = perToken > 0 ? Limit / perToken : double.PositiveInfinity;
        if (_stepDown is { } above)
        {
            StepDown(above, throughput);
            return;
        }

        if (_throughputBelow is { } below && throughput < below * Math.Pow(1 + MinGain, Math.Max(1, Limit - _limitBelow)))
        {
            // The last step up bought (almost) nothing. One window is noisy; two in a row are an answer.
            if (!_noGainOnce)
            {
                _noGainOnce = true;
                return;
            }

            SetKnee(_limitBelow);
            // It lost throughput: past a peak, which may lie below the old knee too.
            _lookDown = throughput < below * (1 - MinGain);
            return;
        }

        _noGainOnce = false;
        _throughputBelow = null;
        _throughput = throughput;
        if (_probe != ProbeState.None)
        {
            return;
        }

        if (_lookDown && Limit > 1)
        {
            _lookDown = false;
            _stepDown = new Step(Limit, throughput);
            SetLimit(Limit - 1);
            return;
        }

        if (Limit >= _cap)
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
            WantProbes(Math.Min(Climbing ? _climbProbes : 1, _cap - Limit));
            _lastProbe = _time.GetTimestamp();
            _windowsHeld = 0;
            return;
        }

        _windowsHeld++;
    }

    /// <summary>A window one below <paramref name="above"/>: does the step up to it pay?</summary>
    private void StepDown(Step above, double throughput)
    {
        if (above.Throughput >= throughput * (1 + MinGain))
        {
            // It does: the knee above stands, confirmed.
            SetKnee(above.Limit);
            return;
        }

        // Serving as well with one fewer in flight; two windows in a row before settling lower, then look further down.
        if (!_noGainOnce)
        {
            _noGainOnce = true;
            return;
        }

        SetKnee(Limit);
        if (Limit > 1)
        {
            _stepDown = new Step(Limit, throughput);
            SetLimit(Limit - 1);
        }
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
        _climbProbes = 1;
        _knee = knee;
        _throughputBelow = null;
        _stepDown = null;
        _lookDown = false;
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

    /// <param name="InFlight">The limit and the round's probes: what the round measured.</param>
    /// <param name="Waited">Members of the round that waited for a slot.</param>
    private readonly record struct Round(int InFlight, int Waited, double MaxShare, double SecondsPerToken);

    /// <summary>A limit and the throughput a window measured at it.</summary>
    private readonly record struct Step(int Limit, double Throughput);

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
