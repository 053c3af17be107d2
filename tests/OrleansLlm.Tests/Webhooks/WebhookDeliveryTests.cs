using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansLlm.Telemetry;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Webhooks;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>
/// Webhooks end to end: the outbox and sender of <see cref="WebhookExtensions.AddWebhooks(IServiceCollection)"/> on a
/// real redis-server, POSTing to a real HTTP receiver, verified by the StandardWebhooks package as a receiver would.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class WebhookDeliveryTests(RedisServer redis, ITestOutputHelper output)
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(300);

    private readonly string _queue = LlmClusterOptions.NewQueueName();
    private readonly string _batch = "batch_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _secret = NewSecret();

    [Fact]
    public async Task AnEventPublishedTwice_IsDeliveredOnce_SignedSoItVerifies_AndOnlyWithItsSecret()
    {
        await using var receiver = await WebhookReceiver.StartAsync(200);
        await using var host = await WebhookHost.StartAsync(redis.ConnectionString, _queue, Settings(receiver.Url));
        var ended = DateTimeOffset.FromUnixTimeSeconds(1_765_000_000);

        Assert.True(await host.Outbox.PublishAsync(WebhookEventTypes.BatchCompleted, _batch, ended, CancellationToken.None));
        Assert.False(await host.Outbox.PublishAsync(WebhookEventTypes.BatchCompleted, _batch, ended.AddMinutes(1), CancellationToken.None));
        await Eventually.TrueAsync(async () => receiver.Received.Any(r => r.Status == 200) && await host.Store.PendingAsync() == 0, "the event delivered");

        // Published again once delivered: nothing is stored, so nothing more can be sent.
        Assert.False(await host.Outbox.PublishAsync(WebhookEventTypes.BatchCompleted, _batch, ended, CancellationToken.None));
        Assert.Equal(0, await host.Store.PendingAsync());
        var received = Assert.Single(receiver.Received);

        new StandardWebhook(_secret).Verify(received.Body, received.Headers);
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(NewSecret()).Verify(received.Body, received.Headers));
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(_secret).Verify(received.Body.Replace(_batch, "batch_other", StringComparison.Ordinal), received.Headers));

        var body = JsonDocument.Parse(received.Body).RootElement;
        Assert.Equal(received.Headers["webhook-id"].ToString(), body.GetProperty("id").GetString());
        Assert.StartsWith("evt_", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("event", body.GetProperty("object").GetString());
        Assert.Equal(ended.ToUnixTimeSeconds(), body.GetProperty("created_at").GetInt64());
        Assert.Equal("batch.completed", body.GetProperty("type").GetString());
        Assert.Equal(_batch, body.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("application/json; charset=utf-8", received.Headers.ContentType.ToString());

        // Another type of the same batch is another event.
        Assert.True(await host.Outbox.PublishAsync(WebhookEventTypes.BatchCancelled, _batch, ended, CancellationToken.None));
    }

    [Fact]
    public async Task AReceiverFailingTwice_GetsTheEventOnTheThirdTry_AfterGrowingDelays()
    {
        await using var receiver = await WebhookReceiver.StartAsync((n, _) => Task.FromResult(n < 2 ? 500 : 200));
        await using var host = await WebhookHost.StartAsync(redis.ConnectionString, _queue, Settings(receiver.Url));

        await host.Outbox.PublishAsync(WebhookEventTypes.BatchFailed, _batch, DateTimeOffset.UtcNow, CancellationToken.None);
        await Eventually.TrueAsync(async () => receiver.Received.Any(r => r.Status == 200) && await host.Store.PendingAsync() == 0, "the event delivered");

        var received = receiver.Received;
        Assert.Equal([500, 500, 200], received.Select(r => r.Status));
        Assert.Single(received.Select(r => r.Headers["webhook-id"].ToString()).Distinct());
        Assert.All(received, r => new StandardWebhook(_secret).Verify(r.Body, r.Headers));
        var (first, second) = (received[1].At - received[0].At, received[2].At - received[1].At);
        output.WriteLine($"waits between attempts: {first.TotalMilliseconds:0} ms, {second.TotalMilliseconds:0} ms (first retry delay {FirstRetryDelay.TotalMilliseconds:0} ms, doubling, jitter up to a quarter)");

        // Lower bounds only: an attempt is never sent before its retry is due, however slow the machine.
        Assert.True(first >= FirstRetryDelay, $"the second attempt came {first.TotalMilliseconds:0} ms after the first, before its delay");
        Assert.True(second >= FirstRetryDelay * 2, $"the third attempt came {second.TotalMilliseconds:0} ms after the second, before its doubled delay");
    }

    [Fact]
    public async Task AnEventWhoseSenderStopsMidDelivery_IsSentByAnotherSender_OnceTheLeaseRunsOut()
    {
        // The first request is held until its sender goes away; every later one is accepted.
        await using var receiver = await WebhookReceiver.StartAsync(async (n, aborted) =>
        {
            if (n == 0)
            {
                await Task.Delay(Timeout.Infinite, aborted);
            }

            return 200;
        });
        var lease = TimeSpan.FromSeconds(4);
        var settings = Settings(receiver.Url, lease);
        var first = await WebhookHost.StartAsync(redis.ConnectionString, _queue, settings);
        await using (first)
        {
            await first.Outbox.PublishAsync(WebhookEventTypes.BatchExpired, _batch, DateTimeOffset.UtcNow, CancellationToken.None);
            await Eventually.TrueAsync(() => receiver.Arrived == 1, "the first sender's request");
            await first.StopAsync();
            Assert.Equal(1, await first.Store.PendingAsync());
        }

        await using var second = await WebhookHost.StartAsync(redis.ConnectionString, _queue, settings);
        await Eventually.TrueAsync(async () => receiver.Received.Any(r => r.Status == 200) && await second.Store.PendingAsync() == 0, "the second sender's delivery");

        var received = receiver.Received;
        Assert.Equal([null, 200], received.Select(r => r.Status));
        Assert.Equal(received[0].Headers["webhook-id"].ToString(), received[1].Headers["webhook-id"].ToString());
        new StandardWebhook(_secret).Verify(received[1].Body, received[1].Headers);
        output.WriteLine($"the first sender stopped mid-delivery; the second sent the event {(received[1].At - received[0].At).TotalSeconds:0.0} s after the first attempt (lease {lease.TotalSeconds:0} s)");
    }

    [Fact]
    public async Task AnEventNoReceiverAccepts_EndsInTheDeadList_WithItsReason_AfterTheMaxAge()
    {
        await using var receiver = await WebhookReceiver.StartAsync(503);
        var settings = Settings(receiver.Url);
        settings["Webhooks:FirstRetryDelay"] = "00:00:00.1";
        settings["Webhooks:MaxRetryDelay"] = "00:00:00.4";
        // Room for several retries even when a loaded machine makes the first attempt slow (1.5 s once allowed only 2).
        settings["Webhooks:MaxAge"] = "00:00:04";
        await using var host = await WebhookHost.StartAsync(redis.ConnectionString, _queue, settings);
        using var metrics = new DeliveryMetrics(host.Services.GetRequiredService<IMeterFactory>());

        await host.Outbox.PublishAsync(WebhookEventTypes.BatchCompleted, _batch, DateTimeOffset.UtcNow, CancellationToken.None);
        await Eventually.TrueAsync(async () => (await host.Store.DeadAsync()).Count == 1, "the event in the dead list");

        var dead = Assert.Single(await host.Store.DeadAsync());
        var received = receiver.Received;
        output.WriteLine($"{received.Count} attempts over {(received[^1].At - received[0].At).TotalSeconds:0.0} s; reason: {dead.Reason}");
        Assert.Equal(0, await host.Store.PendingAsync());
        Assert.Equal(received[0].Headers["webhook-id"].ToString(), dead.Id);
        Assert.Equal((WebhookEventTypes.BatchCompleted, _batch, received[0].Body), (dead.Type, dead.Batch, dead.Body));
        Assert.Equal(received.Count, dead.Attempts);
        Assert.True(received.Count >= 3, $"only {received.Count} attempts");
        Assert.Contains("HTTP 503", dead.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"gave up after {received.Count} attempts", dead.Reason, StringComparison.Ordinal);

        // Every attempt is counted by its outcome; the gauges read the outbox.
        await Eventually.TrueAsync(() => metrics.Attempts("dead") == 1, "the dead attempt counted");
        Assert.Equal(received.Count - 1, metrics.Attempts("retrying"));
        Assert.Equal((0L, 1L), metrics.Gauges());
    }

    private Dictionary<string, string?> Settings(Uri url, TimeSpan? lease = null) => new()
    {
        ["Webhooks:Url"] = url.ToString(),
        ["Webhooks:Secret"] = _secret,
        ["Webhooks:PollInterval"] = "00:00:00.05",
        ["Webhooks:FirstRetryDelay"] = FirstRetryDelay.ToString(),
        ["Webhooks:MaxRetryDelay"] = "00:00:05",
        ["Webhooks:LeaseDuration"] = (lease ?? TimeSpan.FromSeconds(30)).ToString(),
        ["Webhooks:RequestTimeout"] = ((lease ?? TimeSpan.FromSeconds(30)) - TimeSpan.FromSeconds(0.5)).ToString(),
    };

    private static string NewSecret() => WebhookOptions.SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The webhook instruments of one host's meter factory, so other tests' silos running meanwhile do not count.</summary>
    private sealed class DeliveryMetrics : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _gate = new();
        private readonly Dictionary<string, long> _attempts = [];
        private readonly Dictionary<string, long> _gauges = [];

        public DeliveryMetrics(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == OrleansLlmTelemetry.MeterName && instrument.Meter.Scope == factory && instrument.Name.StartsWith("orleansllm_webhook_", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                lock (_gate)
                {
                    if (instrument.Name == "orleansllm_webhook_deliveries")
                    {
                        var outcome = (string)tags.ToArray().Single(t => t.Key == "outcome").Value!;
                        _attempts[outcome] = _attempts.GetValueOrDefault(outcome) + value;
                    }
                    else
                    {
                        _gauges[instrument.Name] = value;
                    }
                }
            });
            _listener.Start();
        }

        public long Attempts(string outcome)
        {
            lock (_gate)
            {
                return _attempts.GetValueOrDefault(outcome);
            }
        }

        /// <summary>Pending and dead, as a scrape reads them now.</summary>
        public (long Pending, long Dead) Gauges()
        {
            _listener.RecordObservableInstruments();
            lock (_gate)
            {
                return (_gauges.GetValueOrDefault("orleansllm_webhook_pending_events", -1), _gauges.GetValueOrDefault("orleansllm_webhook_dead_events", -1));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
