using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;

namespace OrleansLlm.OpenAiCompatible;

/// <summary>
/// Reads the OpenAI-compatible server's own queue (<see cref="PrometheusQueueText"/>) from its <c>/metrics</c> every
/// <see cref="BackendOptions.MetricsInterval"/> while the silo is active, so each answer can say how much of its time it
/// waited inside the server (<see cref="WaitShareSince"/>). One per silo, as the server is.
/// </summary>
/// <remarks>
/// Readings are summed as they come (a count and a sum of <see cref="QueueGauge.WaitShare"/>), not kept: a request
/// marks the sums when it starts and averages the difference when it ends, whatever its length, at no cost per reading.
/// A server without the metrics (404, or none of the names) or not answering leaves no current reading, and is said so
/// once per change, not on every read.
/// </remarks>
public sealed partial class ServerQueueReader : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    public const string HttpClientName = "openai-compatible-metrics";

    private readonly IHttpClientFactory _httpClients;
    private readonly BackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ServerQueueReader> _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    // Replaced whole on each reading, so a request reads one consistent state without a lock.
    private volatile State _state = new(0, 0, Latest: null);
    private string? _lastProblem = string.Empty;

    public ServerQueueReader(IHttpClientFactory httpClients, IOptions<BackendOptions> options, TimeProvider time, IMeterFactory meters, ILogger<ServerQueueReader> logger)
    {
        (_httpClients, _options, _time, _logger) = (httpClients, options.Value, time, logger);
        meters.Create(OrleansLlmTelemetry.MeterName).CreateObservableGauge(
            "orleansllm_server_requests",
            () => _state.Latest is { } latest
                ? [new Measurement<double>(latest.Waiting, new KeyValuePair<string, object?>("state", "waiting")), new Measurement<double>(latest.Running, new KeyValuePair<string, object?>("state", "running"))]
                : (IEnumerable<Measurement<double>>)[],
            "{request}",
            "Requests inside this silo's OpenAI-compatible server, by state (waiting, running), from its own /metrics; absent while it tells none.");
    }

    /// <summary>The latest reading, or null when the server tells none (yet).</summary>
    public QueueGauge? Latest => _state.Latest;

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (_options.Kind == BackendKind.OpenAi)
        {
            lifecycle.Subscribe(nameof(ServerQueueReader), ServiceLifecycleStage.Active, _ => Start(), _ => StopAsync());
        }
    }

    /// <summary>Where the readings stand now; see <see cref="WaitShareSince"/>.</summary>
    public GaugeMark Mark()
    {
        var state = _state;
        return new GaugeMark(state.Readings, state.ShareSum);
    }

    /// <summary>
    /// The part of a request's time spent waiting in the server: the mean of the readings taken since
    /// <paramref name="mark"/>, or the latest when none fell inside it; null when the server tells nothing.
    /// </summary>
    public double? WaitShareSince(GaugeMark mark)
    {
        var state = _state;
        return state.Readings > mark.Readings
            ? (state.ShareSum - mark.ShareSum) / (state.Readings - mark.Readings)
            : state.Latest?.WaitShare;
    }

    /// <summary>Starts reading in the background (the silo's lifecycle does, or a test).</summary>
    public Task Start()
    {
        _loop = RunAsync(_stop.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>Reads once now and then every interval, until cancelled.</summary>
    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.MetricsInterval, _time);
        try
        {
            do
            {
                await ReadOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One read of the server's metrics; whatever goes wrong leaves no current reading and is logged once.</summary>
    private async Task ReadOnceAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A hung server must not stall the readings for long; a few intervals, at least a second.
        timeout.CancelAfter(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, _options.MetricsInterval.Ticks * 4)));
        string? problem;
        try
        {
            using var response = await _httpClients.CreateClient(HttpClientName).GetAsync(_options.MetricsPath, timeout.Token).ConfigureAwait(false);
            problem = response.IsSuccessStatusCode
                ? Record(PrometheusQueueText.Read(await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false)))
                : $"answered HTTP {(int)response.StatusCode}";
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Anything, not only HttpRequestException: the handler can let a bare SocketException out ("Transport
            // endpoint is not connected" from a connection reset as it opens), and one escaping here would end the
            // readings for good; the next tick tries again.
            problem = $"did not answer: {ex.Message}";
        }

        if (problem is not null)
        {
            _state = _state with { Latest = null };
        }

        if (problem != _lastProblem)
        {
            LogChange(problem);
            _lastProblem = problem;
        }
    }

    private string? Record(QueueGauge? gauge)
    {
        if (gauge is not { } reading)
        {
            return "has none of the waiting-request gauges of vLLM, SGLang or llama.cpp";
        }

        var state = _state;
        _state = new State(state.Readings + 1, state.ShareSum + reading.WaitShare, reading);
        return null;
    }

    private void LogChange(string? problem)
    {
        var url = new Uri(new Uri(_options.Url!), _options.MetricsPath);
        if (problem is null)
        {
            LogReading(_logger, url, _state.Latest?.Server);
        }
        else
        {
            LogNoReading(_logger, url, problem);
        }
    }

    private sealed record State(long Readings, double ShareSum, QueueGauge? Latest);
}
