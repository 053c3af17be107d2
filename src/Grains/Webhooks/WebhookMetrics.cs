using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OrleansLlm.Redis;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Webhooks;

/// <summary>
/// The webhooks' metrics (<c>orleansllm_webhook_*</c>): this silo's delivery attempts by outcome, and the whole
/// outbox's pending and dead events as Redis holds them (the same on every silo: aggregate those with <c>max</c>).
/// </summary>
/// <remarks>The two gauges are read in one round trip, kept for a second (<see cref="RedisGaugeReading{T}"/>).</remarks>
public sealed partial class WebhookMetrics
{
    private readonly Meter _meter;
    private readonly Counter<long> _attempts;
    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookMetrics> _logger;

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
        var outbox = new RedisGaugeReading<Outbox>(_redis, _time,
            batch => ReadAsync(batch.SortedSetLengthAsync(store.Keys.Webhooks), batch.ListLengthAsync(store.Keys.WebhookDead)),
            ex => LogReadFailed(_logger, _redis.Endpoint, ex.GetBaseException().Message));
        _meter.CreateObservableGauge("orleansllm_webhook_pending_events", () => Observe(outbox, store, o => o.Pending), "{event}",
            "Webhook events not yet delivered nor given up on: waiting for a retry, due, or being sent (ZCARD of QUEUE:webhooks). The same on every silo: aggregate with max.");
        _meter.CreateObservableGauge("orleansllm_webhook_dead_events", () => Observe(outbox, store, o => o.Dead), "{event}",
            "Webhook events given up on (LLEN of QUEUE:webhook-dead). The same on every silo: aggregate with max.");
    }

    private static IEnumerable<Measurement<long>> Observe(RedisGaugeReading<Outbox> outbox, WebhookStore store, Func<Outbox, long> read) =>
        outbox.Read() is { } reading ? [new Measurement<long>(read(reading), new KeyValuePair<string, object?>("queue", store.Keys.Name))] : [];

    private static async Task<Outbox> ReadAsync(Task<long> pending, Task<long> dead) => new(await pending, await dead);

    private sealed record Outbox(long Pending, long Dead);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the webhook outbox from Redis at {Endpoint} failed; the orleansllm_webhook_* gauges are left out of this scrape: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string endpoint, string error);
}
