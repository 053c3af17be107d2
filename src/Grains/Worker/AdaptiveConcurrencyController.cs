using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Finds and tracks the number of requests in flight that gets the most out of one Ollama without letting requests
/// queue inside it. Hill-climbing on measured throughput, with a brake on queueing:
/// <list type="bullet">
/// <item>Each window of completions at the current limit gives a throughput, <c>limit ÷ time per generated token</c>
/// (per token, so long and short answers compare), and the median time requests waited inside Ollama for a slot
/// (<see cref="Generation.QueueWait"/>).</item>
/// <item>Waiting above <see cref="QueueTolerance"/> of the service time means we send more than Ollama serves in
/// parallel: step down, and remember the knee.</item>
/// <item>Otherwise step up while a step still buys at least <see cref="MinGain"/> more throughput; a step that
/// buys less in two windows running marks the knee too.</item>
/// <item>At the knee, try one step up now and then, since the backend may have changed: soon after a new knee (one
/// noisy window may have set it), then less and less often, up to every 32 windows and
/// <see cref="WorkerOptions.ConcurrencyProbeInterval"/>. Errors and timeouts halve the limit.</item>
/// </list>
/// </summary>
/// <remarks>Not thread-safe: each worker owns one, and a grain runs one turn at a time.</remarks>
public sealed class AdaptiveConcurrencyController : IConcurrencyController
{
    /// <summary>Queueing below this share of the service time is noise (a slot freeing as a request arrives).</summary>
    public const double QueueTolerance = 0.05;

    /// <summary>A step up must raise throughput by at least this much to be worth its latency.</summary>
    public const double MinGain = 0.01;

    private const int MinWindow = 4;

    // Probing costs a window of queueing. A young knee (maybe set by one noisy window) is re-checked soon; each probe
    // that confirms it doubles the wait, up to this many windows and the probe interval.
    private const int FirstProbeAfterWindows = 4;
    private const int MaxWindowsBetweenProbes = 32;

    private readonly TimeProvider _time;
    private readonly int _cap;
    private readonly TimeSpan _probeInterval;
    private readonly List<(double QueueShare, double SecondsPerToken)> _window = [];
    private int _skip;
    private int? _knee;
    private double? _throughputOneBelow;
    private long _lastProbe;
    private int _windowsHeld;
    private int _windowsBetweenProbes = FirstProbeAfterWindows;
    private bool _probing;
    private bool _noGainOnce;

    public AdaptiveConcurrencyController(IOptions<WorkerOptions> options, TimeProvider time)
    {
        _time = time;
        _cap = options.Value.MaxConcurrency;
        _probeInterval = options.Value.ConcurrencyProbeInterval;
        Limit = Math.Min(options.Value.InitialConcurrency, _cap);
        _lastProbe = time.GetTimestamp();
    }

    public int Limit { get; private set; }

    /// <summary>The highest limit found to serve without queueing, once one is known.</summary>
    public int? Knee => _knee;

    public void OnSuccess(Generation generation, TimeSpan latency)
    {
        // Requests sent under the previous limit say nothing about this one.
        if (_skip > 0)
        {
            _skip--;
            return;
        }

        var service = generation.ServiceTime.TotalSeconds;
        var queueShare = service > 0 ? generation.QueueWait.TotalSeconds / service : 0;
        var perToken = generation.EvalCount > 0 ? generation.EvalDuration.TotalSeconds / generation.EvalCount : double.NaN;
        _window.Add((queueShare, perToken));
        if (_window.Count >= Math.Max(MinWindow, 2 * Limit))
        {
            Evaluate();
        }
    }

    public void OnFailure()
    {
        _throughputOneBelow = null;
        SetLimit(Math.Max(1, Limit / 2));
    }

    private void Evaluate()
    {
        var queueShare = Median(_window.Select(s => s.QueueShare));
        var perToken = Median(_window.Where(s => !double.IsNaN(s.SecondsPerToken)).Select(s => s.SecondsPerToken));
        _window.Clear();

        if (queueShare > QueueTolerance)
        {
            // Ollama queues: the knee is below us.
            SetKnee(Math.Max(1, Limit - 1));
            return;
        }

        var throughput = perToken > 0 ? Limit / perToken : double.PositiveInfinity;
        if (_throughputOneBelow is { } below && throughput < below * (1 + MinGain))
        {
            // The last step up bought (almost) nothing. One window is noisy; two in a row are an answer.
            if (!_noGainOnce)
            {
                _noGainOnce = true;
                return;
            }

            SetKnee(Limit - 1);
            return;
        }

        _noGainOnce = false;
        if (_probing)
        {
            // The probe found more room: the knee moved up, and is young again.
            _probing = false;
            _windowsBetweenProbes = FirstProbeAfterWindows;
        }

        var probeDue = _windowsHeld >= _windowsBetweenProbes
            && (_windowsBetweenProbes < MaxWindowsBetweenProbes || _time.GetElapsedTime(_lastProbe) >= _probeInterval);
        if (Limit < _cap && (_knee is null || Limit < _knee || probeDue))
        {
            if (_knee is { } knee && Limit >= knee)
            {
                _probing = true;
                _lastProbe = _time.GetTimestamp();
                _windowsHeld = 0;
            }

            _throughputOneBelow = throughput;
            SetLimit(Limit + 1);
            return;
        }

        // At the knee or the cap: hold.
        _throughputOneBelow = null;
        _windowsHeld++;
    }

    private void SetKnee(int knee)
    {
        if (_probing && knee == _knee)
        {
            // The probe confirmed the knee: wait longer before the next one.
            _windowsBetweenProbes = Math.Min(2 * _windowsBetweenProbes, MaxWindowsBetweenProbes);
        }
        else if (knee != _knee)
        {
            _windowsBetweenProbes = FirstProbeAfterWindows;
        }

        _probing = false;
        _noGainOnce = false;
        _windowsHeld = 0;
        _knee = knee;
        _throughputOneBelow = null;
        SetLimit(knee);
    }

    private void SetLimit(int limit)
    {
        _skip = Limit;
        _window.Clear();
        Limit = Math.Clamp(limit, 1, _cap);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
    }
}
