using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OrleansLlm.Redis;
using OrleansLlm.Telemetry;
using StackExchange.Redis;

namespace OrleansLlm.Webhooks;

/// <summary>
/// The webhooks' metrics (<c>orleansllm_webhook_*</c>): this silo's delivery attempts by outcome, and the whole
/// outbox's pending and dead events as Redis holds them (the same on every silo: aggregate those with <c>max</c>).
/// </summary>
/// <remarks>The two gauges are read in one round trip, kept for a second, so a scrape costs Redis at most one.</remarks>
public sealed partial class WebhookMetrics
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly Meter _meter;
    private readonly Counter<long> _attempts;
    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookMetrics> _logger;
    private readonly Lock _gate = new();
    private Reading? _last;

    public WebhookMetrics(IMeterFactory meterFactory, RedisConnection redis, TimeProvider time, ILogger<WebhookMetrics> logger)
    {
        _redis = redis;
        _time = time;
        _logger = logger;
        _meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
        _attempts = _meter.CreateCounter<long>("orleansllm_webhook_deliveries", "{attempt}",
            "This silo's webhook delivery attempts, by outcome: delivered (2xx), retrying, dead (given up, in the dead list), fenced (its lease had run out).");
    }

    public void Attempted(WebhookAttemptOutcome outcome) =>
        _attempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()));

    /// <summary>Creates the gauges of <paramref name="store"/>'s outbox; called once webhooks are on and Redis is connected.</summary>
    public void ObservePending(WebhookStore store)
    {
        _meter.CreateObservableGauge("orleansllm_webhook_pending_events", () => Observe(store, r => r.Pending), "{event}",
            "Webhook events not yet delivered nor given up on: waiting for a retry, due, or being sent (ZCARD of QUEUE:webhooks). The same on every silo: aggregate with max.");
        _meter.CreateObservableGauge("orleansllm_webhook_dead_events", () => Observe(store, r => r.Dead), "{event}",
            "Webhook events given up on (LLEN of QUEUE:webhook-dead). The same on every silo: aggregate with max.");
    }

    private IEnumerable<Measurement<long>> Observe(WebhookStore store, Func<Reading, long> read) =>
        Read(store) is { } reading ? [new Measurement<long>(read(reading), new KeyValuePair<string, object?>("queue", store.Keys.Name))] : [];

    private Reading? Read(WebhookStore store)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_last is { } last && _time.GetElapsedTime(last.At, now) < MaxAge)
            {
                return last.Failed ? null : last;
            }

            try
            {
                // Observable instruments are read synchronously; the lock makes concurrent scrapes share one read.
                var batch = _redis.Database.CreateBatch();
                var pending = batch.SortedSetLengthAsync(store.Keys.Webhooks);
                var dead = batch.ListLengthAsync(store.Keys.WebhookDead);
                batch.Execute();
                if (!Task.WhenAll(pending, dead).Wait(ReadTimeout))
                {
                    throw new TimeoutException($"Redis did not answer within {ReadTimeout.TotalSeconds:0} s");
                }

                _last = new Reading(now, pending.Result, dead.Result);
                return _last;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException or AggregateException)
            {
                LogReadFailed(_logger, _redis.Endpoint, ex.GetBaseException().Message);
                _last = new Reading(now, 0, 0, Failed: true);
                return null;
            }
        }
    }

    private sealed record Reading(long At, long Pending, long Dead, bool Failed = false);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the webhook outbox from Redis at {Endpoint} failed; the orleansllm_webhook_* gauges are left out of this scrape: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string endpoint, string error);
}
