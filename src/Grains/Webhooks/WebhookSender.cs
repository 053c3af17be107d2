using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Redis;
using StackExchange.Redis;
using StandardWebhooks;

namespace OrleansLlm.Webhooks;

/// <summary>
/// Sends the outbox's due events from this silo, in a loop of its own with its own <see cref="HttpClient"/>, so a
/// slow or broken receiver never holds up the item queue. Every silo runs one while <see cref="WebhookOptions.Url"/>
/// is set; they share the work through leases.
/// </summary>
/// <remarks>
/// At least once: an event is leased before it is sent and forgotten only after a 2xx answer. When the silo stops or
/// dies mid-delivery, the lease is left to run out and another silo sends the event again, with the same
/// <c>webhook-id</c>. Anything but a 2xx (redirects included: they are not followed) is tried again after
/// <see cref="WebhookOptions.RetryDelay"/>, until <see cref="WebhookOptions.MaxAge"/>, then the event goes to the dead list.
/// </remarks>
public sealed partial class WebhookSender(
    WebhookStore store,
    RedisConnection redis,
    IHttpClientFactory httpClients,
    WebhookMetrics metrics,
    IOptions<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookSender> logger) : BackgroundService
{
    public const string HttpClientName = "orleansllm-webhooks";

    // Events taken per round, sent side by side; the next round starts when the slowest has an outcome.
    private const int EventsPerRound = 16;

    private static readonly TimeSpan FirstRedisRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRedisRetry = TimeSpan.FromSeconds(10);

    /// <summary>Who holds this sender's leases, for the record: the process and an instance of it.</summary>
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..6]}";

    private StandardWebhook? _signer;

    private WebhookOptions Options => options.Value;

    // Built once: it decodes the secret's key.
    private StandardWebhook Signer => _signer ??= new StandardWebhook(Options.Secret!);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Options.Enabled)
        {
            LogOff(logger);
            return;
        }

        try
        {
            await redis.ConnectAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            metrics.ObservePending(store);
            LogStarted(logger, Options.UrlForDisplay, Owner);
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: leases of events still being sent run out, and another silo sends them.
        }
        catch (RedisUnavailableException ex)
        {
            // The silo's own start-up reports this and stops; a failing background service would only repeat it.
            LogNoRedis(logger, ex.Message);
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var failureDelay = FirstRedisRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await RoundAsync(stoppingToken).ConfigureAwait(false))
                {
                    await Task.Delay(Options.PollInterval, time, stoppingToken).ConfigureAwait(false);
                }

                failureDelay = FirstRedisRetry;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Never out of the loop: a background service that throws stops the whole silo.
                if (IsRedisFailure(ex))
                {
                    LogLeaseFailed(logger, redis.Endpoint, failureDelay, ex.Message);
                }
                else
                {
                    LogRoundFailed(logger, failureDelay, ex);
                }

                await Task.Delay(failureDelay, time, stoppingToken).ConfigureAwait(false);
                failureDelay = TimeSpan.FromTicks(Math.Min(failureDelay.Ticks * 2, MaxRedisRetry.Ticks));
            }
        }
    }

    /// <summary>Leases the due events and sends them side by side; false when none was due.</summary>
    private async Task<bool> RoundAsync(CancellationToken stoppingToken)
    {
        var leases = await store.LeaseAsync(Owner, EventsPerRound).ConfigureAwait(false);
        if (leases.Count == 0)
        {
            return false;
        }

        var http = httpClients.CreateClient(HttpClientName);
        await Task.WhenAll(leases.Select(lease => DeliverAsync(http, lease, stoppingToken))).ConfigureAwait(false);
        return true;
    }

    /// <summary>One attempt: POST, then record the outcome. Cancellation leaves the lease to run out.</summary>
    private async Task DeliverAsync(HttpClient http, WebhookLease lease, CancellationToken stoppingToken)
    {
        var started = time.GetTimestamp();
        var error = await PostAsync(http, lease, stoppingToken).ConfigureAwait(false);
        var elapsed = time.GetElapsedTime(started);
        var outcome = await SettleAsync(lease, error, stoppingToken).ConfigureAwait(false);
        if (outcome is { } settled)
        {
            metrics.Attempted(settled);
            LogAttempt(logger, lease.Id, lease.Attempts, settled, elapsed, error ?? "2xx");
        }
    }

    /// <summary>The error of the attempt, or null when the receiver answered 2xx.</summary>
    private async Task<string?> PostAsync(HttpClient http, WebhookLease lease, CancellationToken stoppingToken)
    {
        try
        {
            using var request = Sign(lease, time.GetUtcNow());
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stoppingToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        }
        catch (HttpRequestException ex)
        {
            return $"no answer: {ex.Message}";
        }
        catch (TaskCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return $"no answer within {Options.RequestTimeout.TotalSeconds:0.###} s (Webhooks:RequestTimeout)";
        }
    }

    /// <summary>The POST with the Standard Webhooks headers; the timestamp is this attempt's, as the spec asks.</summary>
    private HttpRequestMessage Sign(WebhookLease lease, DateTimeOffset now)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Options.Url)
        {
            Content = new StringContent(lease.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", lease.Id);
        request.Headers.Add("webhook-timestamp", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", Signer.Sign(lease.Id, now, lease.Body));
        return request;
    }

    /// <summary>
    /// Records the attempt's outcome, trying Redis again while the lease lasts; null when it could not (or the silo is
    /// stopping): the lease then runs out and the event is sent again, which at least once allows.
    /// </summary>
    private async Task<WebhookAttemptOutcome?> SettleAsync(WebhookLease lease, string? error, CancellationToken stoppingToken)
    {
        var deadline = time.GetUtcNow() + Options.LeaseDuration;
        var delay = FirstRedisRetry;
        while (true)
        {
            try
            {
                if (error is null)
                {
                    await store.DeliveredAsync(lease).ConfigureAwait(false);
                    return WebhookAttemptOutcome.Delivered;
                }

                return await store.RetryAsync(lease, error, Options.RetryDelay(lease.Attempts, Random.Shared.NextDouble())).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsRedisFailure(ex))
            {
                if (time.GetUtcNow() + delay > deadline || stoppingToken.IsCancellationRequested)
                {
                    LogSettleAbandoned(logger, lease.Id, redis.Endpoint, ex.Message);
                    return null;
                }

                LogSettleFailed(logger, lease.Id, redis.Endpoint, delay, ex.Message);
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRedisRetry.Ticks));
            }
        }
    }

    private static bool IsRedisFailure(Exception ex) => ex is RedisException or TimeoutException or InvalidOperationException;
}
