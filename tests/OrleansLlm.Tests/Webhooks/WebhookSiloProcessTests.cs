using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using OllamaSim;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Webhooks;
using StandardWebhooks;
using Xunit.Abstractions;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>
/// Webhooks in real silo processes, configured the way Kubernetes passes a Secret (environment variables): the
/// silo's own registration runs the sender, and a SIGKILL mid-delivery loses nothing.
/// </summary>
[Trait("Category", "Process")]
public sealed class WebhookSiloProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ASiloKilledMidDelivery_LeavesTheEventToTheOtherSilo_SignedTheSame_AndTheSecretInNoOutput()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
        // The first request is held until its silo dies; the next is accepted.
        await using var receiver = await WebhookReceiver.StartAsync(async (n, aborted) =>
        {
            if (n == 0)
            {
                await Task.Delay(Timeout.Infinite, aborted);
            }

            return 200;
        });
        var queue = LlmClusterOptions.NewQueueName();
        var secret = WebhookOptions.SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var webhooks = new WebhookOptions { Url = receiver.Url.ToString(), Secret = secret, LeaseDuration = TimeSpan.FromSeconds(4), RequestTimeout = TimeSpan.FromSeconds(3) };
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Ollama:Url"] = simulator.Url.ToString(),
            ["Queue:Name"] = queue,
            ["Orleans:ClusterId"] = queue,
            ["Webhooks:Url"] = webhooks.Url,
            ["Webhooks:Secret"] = secret,
            ["Webhooks:LeaseDuration"] = webhooks.LeaseDuration.ToString(),
            ["Webhooks:RequestTimeout"] = webhooks.RequestTimeout.ToString(),
            ["Webhooks:PollInterval"] = "00:00:00.1",
        };
        var silos = await Task.WhenAll(SiloProcess.StartAsync(settings), SiloProcess.StartAsync(settings));
        await using var first = silos[0];
        await using var second = silos[1];
        await using var connection = new RedisConnection(MsOptions.Create(new RedisOptions { ConnectionString = redis.ConnectionString }), TimeProvider.System, NullLogger<RedisConnection>.Instance);
        await connection.ConnectAsync();
        var store = new WebhookStore(connection, MsOptions.Create(new QueueOptions { Name = queue }), MsOptions.Create(webhooks), QueueClock.Redis);
        var outbox = new WebhookOutbox(store, MsOptions.Create(webhooks), NullLogger<WebhookOutbox>.Instance);

        await outbox.PublishAsync(WebhookEventTypes.BatchCompleted, "batch_killed", DateTimeOffset.UtcNow, CancellationToken.None);
        await Eventually.TrueAsync(() => receiver.Arrived == 1, "a silo's request");
        var eventId = receiver.Received[0].Headers["webhook-id"].ToString();
        var owner = (string)(await redis.Db.HashGetAsync(store.Keys.Webhook(eventId), "owner"))!;
        var (sender, other) = owner.Contains($"/{first.ProcessId}/", StringComparison.Ordinal) ? (first, second) : (second, first);
        sender.Kill();
        await Eventually.TrueAsync(() => receiver.Received.Any(r => r.Status == 200), "the other silo's delivery");
        await Eventually.TrueAsync(async () => await store.PendingAsync() == 0, "the delivery recorded");

        var received = receiver.Received;
        output.WriteLine($"the sender ({owner}) was killed mid-delivery; the other silo sent the event {(received[1].At - received[0].At).TotalSeconds:0.0} s after the first attempt (lease {webhooks.LeaseDuration.TotalSeconds:0} s)");
        Assert.Equal([null, 200], received.Select(r => r.Status));
        Assert.Equal(eventId, received[1].Headers["webhook-id"].ToString());
        Assert.Equal(received[0].Body, received[1].Body);
        new StandardWebhook(secret).Verify(received[1].Body, received[1].Headers);
        Assert.Contains("Sending webhooks to", other.Output, StringComparison.Ordinal);
        Assert.All(silos, silo => Assert.DoesNotContain(secret[WebhookOptions.SecretPrefix.Length..], silo.Output, StringComparison.Ordinal));
    }
}
