using OllamaSim;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// An Ollama in simulated time, modelled like the simulator's slot scheduler: <see cref="Slots"/> request slots behind
/// a FIFO queue, the busy ones sharing compute so that together they run at <see cref="Curve"/>'s throughput. It is
/// event driven and exact: time moves from one phase change to the next, so tests count service times, not wall time.
/// </summary>
internal sealed class SyntheticBackend(int slots, CapacityCurve curve)
{
    private readonly Queue<Request> _queue = new();
    private Random? _noise;
    private double _noiseShare;
    private int _submitted;
    private int _stalledUntil;
    private double _stall;
    private int _slowUntil;
    private double _slowFactor = 1;
    private readonly List<Request> _busy = [];
    private int _slots = slots;

    /// <summary>Request slots, like <c>OLLAMA_NUM_PARALLEL</c>. Fewer slots leave busy requests to finish.</summary>
    public int Slots
    {
        get => _slots;
        set
        {
            _slots = value;
            StartQueued();
        }
    }

    public CapacityCurve Curve { get; set; } = curve;

    /// <summary>
    /// What its answers tell of their wait, as the backend seam fills a <see cref="Generation"/>: the server's own
    /// durations (Ollama, llama.cpp's <c>timings</c>); a waiting and a running count read from its <c>/metrics</c>,
    /// the wait being the wall time's share W ÷ (W + R) averaged over the request's life, as the seam averages the
    /// readings taken while it ran (vLLM, SGLang); or only the wall time.
    /// </summary>
    public QueueSignal Signal { get; set; } = QueueSignal.Durations;

    /// <summary>Divides every slot's speed: 3 is three times slower per token, with the same slots.</summary>
    public double Slowdown { get; set; } = 1;

    /// <summary>
    /// The first this many requests report <see cref="ColdStartWait"/> more waiting than they did, as a cold server's
    /// first answers count its own set-up (a fresh process, its first connections) in their total duration.
    /// </summary>
    public int ColdStartRequests { get; set; }

    /// <summary>Seconds of set-up each of the first <see cref="ColdStartRequests"/> answers reports as waiting.</summary>
    public double ColdStartWait { get; set; }

    /// <summary>Simulated seconds since the backend started.</summary>
    public double Now { get; private set; }

    public int InFlight => _queue.Count + _busy.Count;

    /// <summary>Seconds the last answer really waited for a slot, whatever it reported.</summary>
    public double LastWait { get; private set; }

    /// <summary>
    /// Makes each answer's reported generation time off by up to ± <paramref name="share"/> of itself (uniformly, from
    /// a seeded sequence), as a busy machine's late timers and thread switches make it; the real work is unchanged.
    /// </summary>
    public void AddMeasurementNoise(double share, int seed)
    {
        _noise = new Random(seed);
        _noiseShare = share;
    }

    /// <summary>
    /// The next <paramref name="requests"/> submitted report <paramref name="seconds"/> more waiting than they did, as
    /// a busy machine's stall (a late timer, a thread switch) puts into a server's measure of its queue.
    /// </summary>
    public void StallNext(int requests, double seconds)
    {
        _stalledUntil = _submitted + requests;
        _stall = seconds;
    }

    /// <summary>
    /// The next <paramref name="requests"/> submitted report <paramref name="factor"/> times their generation time, as
    /// a busy machine's stall stretches a server's timings; the real work is unchanged.
    /// </summary>
    public void SlowNext(int requests, double factor)
    {
        _slowUntil = _submitted + requests;
        _slowFactor = factor;
    }

    public void Submit(ConcurrencyTicket ticket, SyntheticItem item)
    {
        var setup = _submitted < ColdStartRequests ? ColdStartWait : _submitted < _stalledUntil ? _stall : 0;
        var slowdown = _submitted < _slowUntil ? _slowFactor : 1;
        _submitted++;
        _queue.Enqueue(new Request(ticket, item, Now) { ReportedSetup = setup, ReportedSlowdown = slowdown });
        StartQueued();
    }

    /// <summary>Runs until the next request is answered, and returns it.</summary>
    public (ConcurrencyTicket Ticket, Generation Generation) NextAnswer()
    {
        if (_busy.Count == 0)
        {
            throw new InvalidOperationException("Nothing is in flight, so no answer will come.");
        }

        while (true)
        {
            var rate = Curve.Aggregate(_busy.Count) / _busy.Count / Slowdown;
            var next = _busy.MinBy(r => r.Remaining)!;
            var step = next.Remaining / rate;
            Now += step;
            var share = (double)_queue.Count / (_queue.Count + _busy.Count);
            foreach (var request in _busy.Concat(_queue))
            {
                request.WaitShareSeconds += share * step;
            }

            foreach (var request in _busy)
            {
                request.Remaining = Math.Max(0, request.Remaining - (step * rate));
            }

            next.Remaining = 0;
            if (next.PromptEnded is null)
            {
                // Prompt evaluated; generation starts. Ties come round again at once with a step of 0.
                next.PromptEnded = Now;
                next.Remaining = next.Item.OutputSeconds;
                continue;
            }

            _busy.Remove(next);
            StartQueued();
            var noise = _noise is null ? 1 : 1 + (_noiseShare * ((2 * _noise.NextDouble()) - 1));
            var answer = next.Answer(Now, noise * next.ReportedSlowdown);
            LastWait = next.Started - next.Arrived;
            return (next.Ticket, Signal switch
            {
                QueueSignal.ServerGauge => Reported(answer, next.WaitShareSeconds / Math.Max(Now - next.Arrived, double.Epsilon), QueueSignal.ServerGauge),
                QueueSignal.None => Reported(answer, 0, QueueSignal.None),
                _ => answer,
            });
        }
    }

    /// <summary>Fails every request in flight at once, as a crashed Ollama would; returns their tickets.</summary>
    public IReadOnlyList<ConcurrencyTicket> FailAll()
    {
        var failed = _busy.Concat(_queue).Select(r => r.Ticket).ToList();
        _busy.Clear();
        _queue.Clear();
        return failed;
    }

    /// <summary>
    /// What an OpenAI-compatible backend makes of an answer without durations: the wall time, a
    /// <paramref name="waitShare"/> of it waiting and the rest generating (as the seam does, prompt and all).
    /// </summary>
    private static Generation Reported(Generation answer, double waitShare, QueueSignal signal)
    {
        var wall = answer.TotalDuration;
        return answer with
        {
            PromptEvalDuration = TimeSpan.Zero,
            EvalDuration = wall * (1 - waitShare),
            Signal = signal,
        };
    }

    private void StartQueued()
    {
        while (_busy.Count < _slots && _queue.TryDequeue(out var request))
        {
            request.Started = Now;
            request.Remaining = request.Item.PromptSeconds;
            _busy.Add(request);
        }
    }

    private sealed class Request(ConcurrencyTicket ticket, SyntheticItem item, double arrived)
    {
        public ConcurrencyTicket Ticket { get; } = ticket;

        public SyntheticItem Item { get; } = item;

        public double Arrived => arrived;

        /// <summary>The server's waiting share W ÷ (W + R), integrated over this request's life so far.</summary>
        public double WaitShareSeconds { get; set; }

        public double Started { get; set; }

        /// <summary>Seconds the answer reports as waiting beyond its real wait.</summary>
        public double ReportedSetup { get; init; }

        /// <summary>How many times its real generation time the answer reports.</summary>
        public double ReportedSlowdown { get; init; } = 1;

        public double? PromptEnded { get; set; }

        /// <summary>Solo seconds of work left in the current phase (prompt, then generation).</summary>
        public double Remaining { get; set; }

        public Generation Answer(double now, double evalNoise)
        {
            var wait = TimeSpan.FromSeconds(Started - arrived + ReportedSetup);
            var prompt = TimeSpan.FromSeconds(PromptEnded!.Value - Started);
            var eval = TimeSpan.FromSeconds((now - PromptEnded.Value) * evalNoise);
            // Summed from the rounded parts, so a request that never waited reports exactly no wait.
            return new Generation("x", wait + prompt + eval, Item.OutputTokens, eval, TimeSpan.Zero, prompt);
        }
    }

    /// <summary>
    /// The simulator's own capacity model (k^exponent, and past a cliff a share of the peak lost per extra busy slot),
    /// so the synthetic backend and OllamaSim compute alike; past a steep cliff the backend still crawls at 5%.
    /// </summary>
    public static CapacityCurve CurveOf(double exponent, int? cliffAt = null, double cliffSlope = 0) =>
        new() { ScalingExponent = exponent, CliffAt = cliffAt, CliffSlope = cliffSlope, CliffFloor = 0.05 };

    /// <summary>The busy slots with the most throughput, the fewest of equals.</summary>
    public static int PeakOf(CapacityCurve curve, int slots) => Enumerable.Range(1, slots).MaxBy(curve.Aggregate);
}
