using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Telemetry;

/// <summary>
/// The whole queue's depth as Redis holds it (<c>orleansllm_queue_*</c>). Every silo reports the same figures, so
/// aggregate them with <c>max</c>, never <c>sum</c>.
/// </summary>
/// <remarks>
/// The three gauges are read in one round trip and kept for <see cref="MaxAge"/>, so a scrape, however many of its
/// gauges ask, costs Redis at most one round trip, and several scrapers no more than one a second.
/// </remarks>
public sealed partial class QueueMetrics : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How long one reading of Redis serves the gauges.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    // A scrape must not hang on Redis: past this the gauges are left out of that scrape (and the failure logged).
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly RedisConnection _redis;
    private readonly QueueKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueMetrics> _logger;
    private readonly Lock _gate = new();
    private readonly Meter _meter;
    private Reading? _last;

    public QueueMetrics(IMeterFactory meterFactory, RedisConnection redis, RedisLeaseQueue queue, TimeProvider time, ILogger<QueueMetrics> logger)
    {
        _redis = redis;
        _keys = queue.Keys;
        _time = time;
        _logger = logger;
        _meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
    }

    // The gauges appear once the silo's Redis connection is up (the lifecycle's first stage connects it).
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(QueueMetrics), ServiceLifecycleStage.RuntimeInitialize, _ =>
        {
            CreateGauges();
            return Task.CompletedTask;
        });

    internal void CreateGauges()
    {
        _meter.CreateObservableGauge("orleansllm_queue_ready_items", () => Observe(r => r.Ready), "{item}",
            "Items waiting for a lease: the raw ready list and every priority class's ready set (LLEN of the queue plus ZCARD of QUEUE:ready:CLASS). The same on every silo: aggregate with max.");
        _meter.CreateObservableGauge("orleansllm_queue_inflight_items", () => Observe(r => r.InFlight), "{item}",
            "Items leased and not yet settled, waiting retries included (HLEN of QUEUE:inflight). The same on every silo: aggregate with max.");
        _meter.CreateObservableGauge("orleansllm_queue_dead_items", () => Observe(r => r.Dead), "{item}",
            "Dead letters kept, of every batch and the raw items (QUEUE:stats dead). The same on every silo: aggregate with max.");
    }

    private IEnumerable<Measurement<long>> Observe(Func<Reading, long> read) =>
        Read() is { } reading ? [new Measurement<long>(read(reading), new KeyValuePair<string, object?>("queue", _keys.Name))] : [];

    private Reading? Read()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            // A failed read is kept as long as a good one, so a scrape while Redis is away waits for it once, not per gauge.
            if (_last is { } last && _time.GetElapsedTime(last.At, now) < MaxAge)
            {
                return last.Failed ? null : last;
            }

            try
            {
                // Observable instruments are read synchronously; the lock makes concurrent scrapes share one read.
                var batch = _redis.Database.CreateBatch();
                var ready = RedisQueueItems.ReadyCountAsync(batch, _keys);
                var inFlight = batch.HashLengthAsync(_keys.InFlight);
                var dead = batch.HashGetAsync(_keys.Stats, "dead");
                batch.Execute();
                if (!Task.WhenAll(ready, inFlight, dead).Wait(ReadTimeout))
                {
                    throw new TimeoutException($"Redis did not answer within {ReadTimeout.TotalSeconds:0} s");
                }

                _last = new Reading(now, ready.Result, inFlight.Result, (long?)dead.Result ?? 0);
                return _last;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException or AggregateException)
            {
                LogReadFailed(_logger, _redis.Endpoint, ex.GetBaseException().Message);
                _last = new Reading(now, 0, 0, 0, Failed: true);
                return null;
            }
        }
    }

    private sealed record Reading(long At, long Ready, long InFlight, long Dead, bool Failed = false);
}
