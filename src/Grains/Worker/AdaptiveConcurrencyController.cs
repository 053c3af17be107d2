using Microsoft.Extensions.Options;
using OrleansLlm.Inference;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Finds and tracks the number of requests in flight that gets the most out of one Ollama without letting requests
/// queue inside it. Ollama never pushes back (beyond its slots it queues silently), so the controller reads the
/// durations of each answer: how long it waited for a slot, and its time per generated token. It moves through four
/// <see cref="ConcurrencyPhase"/>s:
/// <list type="bullet">
/// <item><b>Slow start</b>: rounds of as many probes as the limit double it, as TCP does, until a round finds the
/// first knee (some probes waited, or the doubling paid too little).</item>
/// <item><b>Probe</b>: above the knee after a probe round found room, windows of answers check that the step paid,
/// and each round that finds room again sends twice the probes of the last.</item>
/// <item><b>Step down</b>: past a throughput peak, one step below the knee at a time, while the step below serves as
/// well.</item>
/// <item><b>Steady</b>: at the knee, a probe now and then (<see cref="ProbePace"/>); below it after errors, doubling
/// back to it.</item>
/// </list>
/// Transitions: slow start → steady (or step down, past a bend or a doubling that paid nothing); slow start → probe
/// when it doubles to the cap; steady → probe when a probe finds room; probe → steady when a probe waits or a step is
/// refuted (→ step down if it lost throughput); step down → steady when the step above pays. In every phase but slow
/// start, answers that queue drop the limit to the slots they kept busy (→ steady; while probing, no lower than where
/// the climb started); errors halve it (slow start goes on from half, the others go on below the knee or above it).
/// <para>
/// <b>Other servers.</b> A continuous-batching server (vLLM, SGLang, llama.cpp's <c>llama-server</c>) is an Ollama
/// whose slots are its KV-cache room: throughput rises with the batch until the cache is full, then requests wait in
/// order. The answers say how they waited in one of three ways (<see cref="Generation.Signal"/>):
/// <list type="bullet">
/// <item><see cref="QueueSignal.Durations"/> (Ollama, llama.cpp's <c>timings</c>): as above.</item>
/// <item><see cref="QueueSignal.ServerGauge"/> (vLLM's <c>num_requests_waiting</c> and the like): every answer
/// carries the waiting share W ÷ (W + R) of its wall time, whether it waited or not. Windows read it as they read
/// durations (Little's law gives the busy slots either way); a probe round, which can't tell who waited, takes the
/// slots as in flight ÷ (1 + W ÷ R) at its fullest (<see cref="ProbeRound.Served"/>), counts any gauged wait, however
/// short (the gauge is read now and then, and a queue a doubling made may drain between two readings), and is
/// believed without a second round (a server's count is no cold start's set-up).</item>
/// <item><see cref="QueueSignal.None"/>: the latency rule. With no wait to read, a queue shows only as throughput that
/// stops growing: by Little's law throughput is in flight ÷ mean latency, so once added requests only wait, latency
/// grows as fast as in flight and throughput stays flat. This is the gradient Netflix's concurrency-limits and TCP
/// Vegas steer by (Vegas' queue estimate in flight × (1 − base latency ÷ latency) is the requests that bought no
/// throughput), taken over steps of the limit rather than against a least latency: a continuous-batching server's
/// latency also grows with its batch, with no queue at all (as k^(1 − e): 47% at 48 in flight for e = 0.9), so a rule
/// against the least latency would take that for a queue of 15 unless given a tolerance as large as the queue it
/// looks for. Here the tolerance is <see cref="MinGain"/>, a step must raise throughput by 1% per request added, and
/// by latency alone at least <see cref="LatencyNoise"/> in all. The limit steps straight up (a round tells nothing by
/// latency: its probes live beside requests that leave), each step twice the last while they pay (1, 2, 4, …), and
/// a window judges each, leaving out the answers to the step's own requests (they queued only behind older, part-done
/// ones, and waited less than at the limit). A step that paid, but scaled throughput clearly less than the step
/// before (a doubling from 32 to 64 on 48 sequences), went past the slots: the knee is where the curve as it scaled
/// before meets the new throughput, and the step-down phase checks it.</item>
/// </list>
/// The latency rule is weaker. It sees a queue only after a step made one (a window later), and its climb takes two
/// service times a doubling where slow start takes one. A server that slows down for everyone (another client's
/// load) reads as no change, so the knee is not lowered until a step is refuted. Its noise margin keeps a useless
/// step on a flat curve (a CPU past its slots) from looking paid, but also a useful one-request probe: it holds the
/// knee its bend found (47 of 48 sequences in the tests) rather than creeping up to the last request that pays.
/// </para>
/// </summary>
/// <remarks>Not thread-safe: each worker owns one, and a grain runs one turn at a time.</remarks>
public sealed class AdaptiveConcurrencyController : IConcurrencyController
{
    /// <summary>Waiting below this share of the service time is noise (a slot freeing as a request arrives).</summary>
    public const double QueueTolerance = 0.05;

    /// <summary>A step up must raise throughput by at least this much per request added to be worth its latency.</summary>
    public const double MinGain = 0.01;

    private const int MinWindow = 4;

    // While a step up is unconfirmed, decide on small windows: climbing fast matters more than a noisy step, which
    // the re-probes of a young knee correct.
    private const int ClimbWindow = 2;

    // A wait of half a service time or more met a real queue, not noise (a cold start, a slot freeing late).
    private const double ClearQueueShare = 0.5;

    // Slow start stops doubling once a doubling scales throughput clearly less than the one before: the curve bends,
    // as it does towards a peak, and one more doubling could land far past it, where a backend with a steep cliff
    // crawls until the whole round has answered. A backend that scales as k^e never bends, so it doubles to its slots.
    private const double BendingShare = 0.75;

    // Only a curve that scaled near-linearly can be seen to bend: a CPU's (e ≈ 0.3) is bent from the start, and a
    // round's measure of it wanders (0.47, then 0.23, without noise), which read as a bend stopped slow start at 8.
    private const double MinBendingReference = 0.6;

    // The latency rule's smallest window: a one-token answer's latency is mostly its prompt's, a seven-token one's
    // twice that, and the mean of 16 is within a few percent.
    private const int LatencyWindow = 16;

    // How far a latency window's throughput wanders without any change (see StepMustPay).
    private const double LatencyNoise = 0.05;

    private readonly TimeProvider _time;
    private readonly int _cap;
    private readonly ProbePace _pace;
    private readonly List<AnswerSample> _window = [];

    // Any change of limit starts an epoch; answers to requests sent under another limit say nothing about this one.
    private long _epoch;

    // The epoch of the last halving: the requests in flight then failed together, and halve the limit once.
    private long _cutEpoch;
    private long _rounds;
    private ProbeRound? _round;

    // The throughput the last window measured at the limit.
    private double? _throughput;

    // Slow start: the last round believed (its in flight and throughput), the exponent its doubling scaled throughput
    // by, and whether a verdict is being re-run.
    private MeasuredLimit? _roundBefore;
    private double? _lastScaling;
    private bool _doubted;

    // Probe and steady: the limit below a step up that no window has confirmed yet, and the probes of the next round.
    private MeasuredLimit? _stepUp;
    private int _climbProbes = 1;

    // Step down: the limit above, measured; null until a window has measured the knee the phase started at.
    private MeasuredLimit? _stepDown;

    // A window said "no gain" once (a step up, or down); the next says whether it holds.
    private bool _noGainOnce;

    // A climb's small window found no wait but no gain either: a full window at this limit judges the gain.
    private bool _fullWindow;

    // The last answer told only its latency (QueueSignal.None): no wait will be seen.
    private bool _latencyOnly;

    // The latency rule's climb: the exponent the last step up scaled throughput by.
    private double? _stepScaling;

    // Answers to requests sent under this limit so far, and how many of the first to leave out (the latency rule):
    // the step's own requests after a climb's step, else a limit's worth.
    private int _answersInEpoch;
    private int _transient;

    public AdaptiveConcurrencyController(IOptions<WorkerOptions> options, TimeProvider time)
    {
        _time = time;
        _cap = options.Value.MaxConcurrency;
        _pace = new ProbePace(time, options.Value.ConcurrencyProbeInterval);
        Limit = Math.Min(options.Value.InitialConcurrency, _cap);
        if (Limit < _cap)
        {
            // The first round goes out with the first requests: one service time sooner than measuring the limit alone.
            Phase = ConcurrencyPhase.SlowStart;
            StartRound(SlowStartProbes);
        }
        else
        {
            Phase = ConcurrencyPhase.Probe;
        }
    }

    public int Limit { get; private set; }

    public int InFlightAllowed => _round is { Wanted: true } round ? round.InFlight : Limit;

    /// <summary>The highest limit found to serve without queueing, once one is known.</summary>
    public int? Knee { get; private set; }

    /// <summary>Probes sent so far.</summary>
    public int Probes { get; private set; }

    /// <summary>What the controller is doing; see its summary.</summary>
    public ConcurrencyPhase Phase { get; private set; }

    private int SlowStartProbes => Math.Min(Limit, _cap - Limit);

    // A step up is checked on two answers where they tell their wait (a gain they can't show plainly, a full window
    // judges: _fullWindow). By latency alone a window must hold the answers the step made wait to see it: a service
    // time's worth while first climbing (a doubling that pays shows it plainly), and about a knee two, and enough that
    // the mix of long and short answers evens out.
    private int WindowSize => !_latencyOnly
        ? Phase == ConcurrencyPhase.Probe && !_fullWindow ? ClimbWindow : Math.Max(MinWindow, 2 * Limit)
        : Phase == ConcurrencyPhase.Probe && Knee is null ? Math.Max(2 * MinWindow, Limit) : Math.Max(LatencyWindow, 2 * Limit);

    public ConcurrencyTicket OnSent(int inFlight)
    {
        if (_round is not { Wanted: true } round)
        {
            return new ConcurrencyTicket(_epoch, Probe: false);
        }

        var probe = round.Add(inFlight);
        if (probe)
        {
            Probes++;
        }

        return new ConcurrencyTicket(_epoch, probe, round.Id);
    }

    public void OnSuccess(ConcurrencyTicket ticket, Generation generation)
    {
        _round?.NoteSlotFreed();
        if (ticket.Epoch != _epoch)
        {
            return;
        }

        var sample = AnswerSample.Of(generation);
        _latencyOnly = sample.Signal == QueueSignal.None;
        if (_round is { } round && ticket.Round == round.Id)
        {
            if (round.Answer(sample, ticket.Probe))
            {
                _round = null;
                OnRoundAnswered(round);
                return;
            }

            if (ticket.Probe)
            {
                return;
            }
        }

        // In slow start the rounds decide; answers beside them ran at the round's in flight, not the limit's. By
        // latency alone, the first answers after a change met the requests sent before it: after a step up, the
        // requests it added queued only behind those, which were part done, so they waited less than at the limit and
        // would measure a gain that isn't there.
        if (Phase == ConcurrencyPhase.SlowStart || (_latencyOnly && ++_answersInEpoch <= _transient))
        {
            return;
        }

        _window.Add(sample);
        if (_window.Count >= WindowSize)
        {
            OnWindow();
        }
    }

    public void OnFailure(ConcurrencyTicket ticket)
    {
        _round?.NoteSlotFreed();

        // A request sent before the last cut had its part in it: N requests that fail together (Ollama restarting,
        // a timeout hitting everything in flight) halve the limit once, not N times.
        if (ticket.Epoch < _cutEpoch)
        {
            return;
        }

        _stepUp = null;
        _stepDown = null;
        _noGainOnce = false;
        _stepScaling = null;
        _climbProbes = 1;
        SetLimit(Math.Max(1, Limit / 2));
        _cutEpoch = _epoch;
        if (Phase == ConcurrencyPhase.SlowStart)
        {
            // Climb again from half, without comparing to a throughput measured before the failure.
            _roundBefore = null;
            _lastScaling = null;
            _doubted = false;
            StartRound(SlowStartProbes);
            return;
        }

        // Below a known knee the steady phase doubles back to it; above it, or with none, each step is checked.
        Phase = Knee is { } knee && Limit <= knee ? ConcurrencyPhase.Steady : ConcurrencyPhase.Probe;
    }

    public void OnAbandoned(ConcurrencyTicket ticket)
    {
        _round?.NoteSlotFreed();
        if (ticket.Epoch == _epoch && _round is { } round && ticket.Round == round.Id)
        {
            // The round can't be judged without all its answers: start another with the next requests.
            StartRound(round.Probes);
        }
    }

    private void OnRoundAnswered(ProbeRound round)
    {
        if (Phase == ConcurrencyPhase.SlowStart)
        {
            OnSlowStartRound(round);
        }
        else
        {
            OnProbeRound(round);
        }
    }

    /// <summary>
    /// Slow start: until the first knee each round sends as many probes as the limit, and the limit doubles if none of
    /// them waited for a slot and throughput grew, so a 32-slot backend is full after five rounds, about five service
    /// times. A round in which requests waited marks the first knee: Ollama queues in order, so the requests that did
    /// not wait are the slots it has. A doubling that pays less than <see cref="MinGain"/> per request added brackets
    /// the knee between half the limit and twice it: the limit holds, and looks one step down before the probes look
    /// up. So does a doubling that pays clearly less than the one before on a curve that had scaled near-linearly (it
    /// bends towards a peak), from the doubled limit. A round that would end slow start by a short wait (any wait, in
    /// the very first round), no gain or a bend is run once more before it is believed (<see cref="Doubt"/>).
    /// </summary>
    private void OnSlowStartRound(ProbeRound round)
    {
        if (round.LatencyOnly)
        {
            // By latency alone a round can't be judged: its probes live beside the limit's older requests, which
            // leave as they answer, so the round's in flight is not what its answers saw. Windows judge each step.
            ClimbByWindows(round.InFlight, round.Probes);
            return;
        }

        if (round.Waited > 0)
        {
            OnSlowStartRoundWaited(round);
            return;
        }

        var throughput = round.Throughput;
        var noGain = _roundBefore is { } below && throughput < below.Throughput * Math.Pow(1 + MinGain, round.InFlight - below.Limit);

        // The exponent e of throughput ∝ in-flight^e over this round's step. It paid, but clearly less than the step
        // before: the curve bends, as towards a peak.
        double? scaling = _roundBefore is { } before
            ? Math.Log(throughput / before.Throughput) / Math.Log((double)round.InFlight / before.Limit)
            : null;
        var bends = _lastScaling >= MinBendingReference && scaling < BendingShare * _lastScaling;
        if ((noGain || bends) && Doubt())
        {
            return;
        }

        _doubted = false;
        if (noGain)
        {
            // The added requests bought less than MinGain each: the knee lies between half this limit and the round's
            // in flight. Hold here; a window looks one step down, and probes look up.
            SetKnee(Limit, lookDown: true);
            return;
        }

        _roundBefore = new MeasuredLimit(round.InFlight, throughput);
        if (bends)
        {
            // Hold the doubled limit as a young knee, and look one step down before the probes look up.
            SetKnee(round.InFlight, lookDown: true);
            return;
        }

        // No hardware scales better than linearly: a doubling that measured so only had a slow round before it, and
        // would make the next, ordinary doubling look like a bend. The first round has no round before it, so nothing
        // to bend from: taking it as linear made the second doubling of any CPU (e ≈ 0.3) look like a bend.
        _lastScaling = scaling is { } measured ? Math.Min(measured, 1) : null;
        Double(round);
    }

    /// <summary>
    /// The latency rule's bend: a step up from <paramref name="below"/> that paid, but scaled throughput clearly less
    /// than the step before it on a curve that had scaled near-linearly (the slow-start rounds' test), went past the
    /// slots; no wait will ever say so, and stepping down one at a time from there takes long. Returns the knee on the
    /// bend, or null if the curve does not bend.
    /// </summary>
    private int? Bends(MeasuredLimit below, MeasuredLimit above)
    {
        var scaling = Math.Log(above.Throughput / below.Throughput) / Math.Log((double)above.Limit / below.Limit);
        if (_stepScaling is { } last && last >= MinBendingReference && scaling < BendingShare * last)
        {
            return KneeOnTheBend(below, above, last);
        }

        _stepScaling = double.IsFinite(scaling) ? Math.Min(scaling, 1) : null;
        return null;
    }

    /// <summary>
    /// The in flight at which throughput, growing from <paramref name="below"/> as in-flight^<paramref name="scaling"/>
    /// (as the step before did), would reach <paramref name="bent"/>'s: where the server stopped taking more in, if it
    /// ran everything up to its slots and queued the rest (a continuous-batching server past its KV cache).
    /// </summary>
    private static int KneeOnTheBend(MeasuredLimit below, MeasuredLimit bent, double scaling)
    {
        var knee = below.Limit * Math.Pow(bent.Throughput / below.Throughput, 1 / scaling);
        return double.IsFinite(knee) ? (int)Math.Clamp(Math.Round(knee), below.Limit, bent.Limit) : bent.Limit;
    }

    private void OnSlowStartRoundWaited(ProbeRound round)
    {
        // A short wait may be no queue at all: a cold server counts its own set-up (a fresh process, its first
        // connections) in its first answers' total duration. The very first round, which only a one-slot Ollama
        // could make wait, doubles instead: the next round's waits count the slots.
        if (round.MaxShare < ClearQueueShare && _rounds == 1)
        {
            Double(round);
            return;
        }

        // A cold start can last half a service time too, and a knee of 1 on a 32-slot backend took 3 s to climb out
        // of: a clear wait in the very first round is run once more before it is believed. A one-slot Ollama pays
        // one more wait. A server's own count of waiting requests is no cold start's set-up: believed at once.
        if ((round.MaxShare < ClearQueueShare || _rounds == 1) && !round.Gauged && Doubt())
        {
            return;
        }

        // Ollama serves in order of arrival: the requests that did not wait are the slots it has.
        SetKnee(Math.Clamp(round.Served, 1, round.InFlight - 1), trusted: round.MaxShare >= ClearQueueShare);
    }

    /// <summary>Takes the round's in flight as the limit; slow start goes on below the cap, and ends at it.</summary>
    private void Double(ProbeRound round)
    {
        SetLimit(round.InFlight);
        if (Limit < _cap)
        {
            StartRound(SlowStartProbes);
            return;
        }

        // At the cap with no knee known: the windows check the last doubling as they check any step up.
        Phase = ConcurrencyPhase.Probe;
    }

    /// <summary>
    /// Whether to run the round again before believing that it ends slow start: one round's few answers on a busy
    /// machine can look like a short queue or a bend that is not there, and stopping early costs a long climb. A round
    /// is doubted once; the second says.
    /// </summary>
    /// <remarks>
    /// It costs a round, and past a cliff more: the re-run round measures partly beside the slower requests of the
    /// first, so it can overturn a true "no gain" (a 16-slot backend peaking at 7 held 8 for 25 s before stepping down).
    /// Doubting only short waits, though, let ±15% timing noise stop slow start early on 2 of the 63 knees from 2 to
    /// 64 (<c>AdaptiveConcurrencyKneeTests</c>: 9 took 14.5 service times, 31 over 20).
    /// </remarks>
    private bool Doubt()
    {
        if (_doubted)
        {
            return false;
        }

        _doubted = true;
        StartRound(SlowStartProbes);
        return true;
    }

    /// <summary>
    /// Probe (and steady's occasional probe): a round of probes beyond the limit. If one waited for a slot, the limit
    /// is the knee; if not, the limit takes the probes' slots, and while each step pays, the next round sends twice the
    /// probes of the last (1, 2, 4, …), so a backend far above its limit is full in a few rounds.
    /// </summary>
    private void OnProbeRound(ProbeRound round)
    {
        if (round.LatencyOnly)
        {
            ClimbByWindows(round.InFlight, round.Probes);
            return;
        }

        if (round.Waited > 0)
        {
            // No free slot for some: those that did not wait are the slots (Ollama serves in order of arrival).
            SetKnee(Math.Clamp(round.Served, Limit, round.InFlight - 1), trusted: round.MaxShare >= ClearQueueShare);
            return;
        }

        // Free slots: take them. The probes' own time per token can't say whether the step pays (their round frees
        // slots that are not refilled, so they run mostly beside the limit's requests), so the next windows check the
        // gain before anything probes further. If they find room again, twice as many probe: a backend with many
        // more slots than the limit (a knee set by noise, or a GPU freed by another model) is full in a few rounds.
        _stepUp = _throughput is { } throughput ? new MeasuredLimit(Limit, throughput) : null;
        SetLimit(round.InFlight);
        _climbProbes = 2 * round.Probes;
        Phase = ConcurrencyPhase.Probe;
    }

    /// <summary>
    /// The latency rule's climb: the limit takes <paramref name="inFlight"/> (a round's, or a step's straight up: a
    /// round tells nothing by latency), and windows at it check that the step paid (<see cref="OnWindowAtLimit"/>);
    /// while each does, the next step is twice as big. From 1 in flight a 48-sequence server is reached in 6 steps of
    /// two service times each (the answers that met the older requests, then a window).
    /// </summary>
    private void ClimbByWindows(int inFlight, int probes)
    {
        if (_throughput is { } throughput)
        {
            _stepUp = new MeasuredLimit(Limit, throughput);
        }

        var before = Limit;
        SetLimit(inFlight);
        _transient = Math.Max(1, Limit - before);
        _climbProbes = 2 * probes;
        Phase = ConcurrencyPhase.Probe;
    }

    /// <summary>
    /// A window of answers at the limit (2 while a step is unchecked, until they show a wait or fail to show a gain,
    /// else twice the limit and at least
    /// <see cref="MinWindow"/>; by latency alone, see <see cref="WindowSize"/>) gives a throughput
    /// (<see cref="AnswerSample.Throughput"/>). If the answers waited,
    /// together, more than <see cref="QueueTolerance"/> of their service, the backend serves fewer in parallel than
    /// before: the slots busy are <c>limit × service ÷ (service + wait)</c> by Little's law, and the limit drops
    /// straight there, whatever the phase; but while probing, not below where the climb started (the knee, or an
    /// unchecked step's limit below): a window of 2 answers refutes the climb, and is too few to measure the slots
    /// below it.
    /// </summary>
    private void OnWindow()
    {
        var throughput = AnswerSample.Throughput(_window, Limit);
        var service = _window.Sum(s => s.Service);
        var total = service + _window.Sum(s => s.Wait);
        // The window's wait against its service, not the median answer's: two requests over 32 slots queue for good,
        // yet most answers never wait.
        var queueShare = service > 0 ? (total - service) / service : 0;
        _window.Clear();

        if (queueShare > QueueTolerance && Limit > 1)
        {
            var busy = total > 0 ? (int)Math.Round(Limit * service / total) : Limit - 1;
            // One answer of 2 that waited 17 ms at 33 in flight on 32 slots read as 30 busy, and the limit, refuted by
            // the same small windows at every re-probe, stayed there. A backend that did shrink shows in the steady
            // windows at the knee, which hold enough answers for Little's law.
            var floor = Phase == ConcurrencyPhase.Probe ? Math.Max(_stepUp?.Limit ?? 1, Knee ?? 1) : 1;
            SetKnee(Math.Clamp(busy, Math.Min(floor, Limit - 1), Limit - 1), trusted: queueShare >= ClearQueueShare);
            return;
        }

        if (Phase == ConcurrencyPhase.StepDown)
        {
            OnStepDownWindow(throughput);
        }
        else
        {
            OnWindowAtLimit(throughput);
        }
    }

    /// <summary>
    /// Probe and steady: a step up that buys less than <see cref="MinGain"/> per request added, in two windows running,
    /// marks the knee at the limit below: free slots that add no throughput only add latency. A step that <i>loses</i>
    /// throughput means the backend is past a peak (a cliff: memory pressure), which may lie lower still, so the
    /// controller steps down. Otherwise the probe phase probes on, and the steady one when <see cref="ProbePace"/> says.
    /// </summary>
    private void OnWindowAtLimit(double throughput)
    {
        if (_stepUp is { } below && throughput < below.Throughput * StepMustPay(Limit - below.Limit))
        {
            OnStepWithoutGain(below, throughput);
            return;
        }

        if (_latencyOnly && Phase == ConcurrencyPhase.Probe && _stepUp is { } paid && Bends(paid, new MeasuredLimit(Limit, throughput)) is { } knee)
        {
            SetKnee(knee, lookDown: true);
            return;
        }

        _noGainOnce = false;
        _stepUp = null;
        _throughput = throughput;
        if (_round is not null || Limit >= _cap)
        {
            return;
        }

        if (Knee is { } held && Limit < held)
        {
            // Below a limit known to serve well (after errors): double back without probing.
            _stepUp = new MeasuredLimit(Limit, throughput);
            SetLimit(Math.Min(held, 2 * Limit));
            return;
        }

        if (Phase == ConcurrencyPhase.Probe || _pace.Due)
        {
            var probes = Math.Min(Phase == ConcurrencyPhase.Probe ? _climbProbes : 1, _cap - Limit);
            if (_latencyOnly)
            {
                // A round would tell nothing by latency alone: step straight up, and let the windows judge.
                ClimbByWindows(Limit + probes, probes);
            }
            else
            {
                StartRound(probes);
            }

            _pace.Probed();
            return;
        }

        _pace.Held();
    }

    /// <summary>
    /// The last step up bought (almost) nothing: on a small window, a full one judges it; one full window is noisy, two
    /// in a row are an answer, and the limit goes back below the step (and looks further down if it lost throughput).
    /// </summary>
    private void OnStepWithoutGain(MeasuredLimit below, double throughput)
    {
        if (Phase == ConcurrencyPhase.Probe && !_latencyOnly && !_fullWindow)
        {
            // Two answers can show a wait, but not a gain of a few percent: their throughput wanders by 15% on a
            // loaded machine (2,680 against 3,136 an item a second at 33 of 32 slots), and two such windows
            // stepped a 32-slot GPU down to 31 and 30, where the windows below measured as well, for minutes.
            _fullWindow = true;
            return;
        }

        if (!_noGainOnce)
        {
            _noGainOnce = true;
            return;
        }

        // It lost throughput: past a peak, which may lie below the old knee too.
        SetKnee(below.Limit, lookDown: throughput < below.Throughput * (1 - MinGain));
    }

    /// <summary>
    /// The throughput a step up of <paramref name="requests"/> must multiply by: <see cref="MinGain"/> per request; by
    /// latency alone at least <see cref="LatencyNoise"/>, as a window's mean latency wanders that much with the mix of
    /// answers, and a flat curve (a CPU past its slots) would otherwise take a lucky window for a gain.
    /// </summary>
    private double StepMustPay(int requests)
    {
        var required = Math.Pow(1 + MinGain, Math.Max(1, requests));
        return _latencyOnly ? Math.Max(required, 1 + LatencyNoise) : required;
    }

    /// <summary>
    /// Step down: a window at the knee measures it, then the limit steps one below. If the step up to the knee pays, the
    /// knee stands, confirmed; if the limit below serves as well in two windows running, it is the knee, and the phase
    /// looks one further down.
    /// </summary>
    private void OnStepDownWindow(double throughput)
    {
        if (_stepDown is not { } above)
        {
            _noGainOnce = false;
            _throughput = throughput;
            StepDownFrom(new MeasuredLimit(Limit, throughput));
            return;
        }

        if (above.Throughput >= throughput * (1 + MinGain))
        {
            SetKnee(above.Limit);
            return;
        }

        if (!_noGainOnce)
        {
            _noGainOnce = true;
            return;
        }

        SetKnee(Limit);
        if (Limit > 1)
        {
            StepDownFrom(new MeasuredLimit(Limit, throughput));
        }
    }

    private void StepDownFrom(MeasuredLimit above)
    {
        _stepDown = above;
        SetLimit(above.Limit - 1);
        Phase = ConcurrencyPhase.StepDown;
    }

    /// <summary>
    /// Holds <paramref name="knee"/>: the steady phase, or with <paramref name="lookDown"/> the step-down phase, which
    /// first measures the knee. See <see cref="ProbePace"/> for when it is probed again.
    /// </summary>
    private void SetKnee(int knee, bool trusted = false, bool lookDown = false)
    {
        _pace.OnKnee(confirmed: knee == Knee, trusted);
        _noGainOnce = false;
        _stepScaling = null;
        _climbProbes = 1;
        Knee = knee;
        _stepUp = null;
        _stepDown = null;
        SetLimit(knee);
        Phase = lookDown && Limit > 1 ? ConcurrencyPhase.StepDown : ConcurrencyPhase.Steady;
    }

    private void SetLimit(int limit)
    {
        _epoch++;
        _fullWindow = false;
        _answersInEpoch = 0;
        _round = null;
        _window.Clear();
        Limit = Math.Clamp(limit, 1, _cap);
        _transient = Limit;
    }

    private void StartRound(int probes) => _round = new ProbeRound(++_rounds, Limit, probes, _time);
}
