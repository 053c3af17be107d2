using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Webhooks;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>Redis going away under a sender, on a redis-server of the test's own with an append-only file, so a clean restart keeps the outbox.</summary>
[Trait("Category", "Redis")]
public sealed class WebhookRedisOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ADeliveryWhoseOutcomeRedisCannotTake_IsRecordedOnceRedisIsBack_SentOnce_AndTheFailureLogged()
    {
        await using var redis = await RedisProcess.StartAsync(new RedisProcessOptions { AppendOnly = true });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await WebhookReceiver.StartAsync(async (_, aborted) =>
        {
            await release.Task.WaitAsync(aborted);
            return 200;
        });
        var logs = new RecordedLogs();
        // A command waits a second, not five, for a connection that is gone, so the failure shows sooner.
        await using var host = await WebhookHost.StartAsync(redis.ConnectionString + ",syncTimeout=1000,asyncTimeout=1000", LlmClusterOptions.NewQueueName(), new Dictionary<string, string?>
        {
            ["Webhooks:Url"] = receiver.Url.ToString(),
            ["Webhooks:Secret"] = WebhookOptions.SecretPrefix + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Webhooks:PollInterval"] = "00:00:00.05",
        }, logs);

        await host.Outbox.PublishAsync(WebhookEventTypes.BatchCompleted, "batch_outage", DateTimeOffset.UtcNow, CancellationToken.None);
        await Eventually.TrueAsync(() => receiver.Arrived == 1, "the sender's request");

        // The receiver accepts while Redis is away: the sender cannot record it, and keeps trying within its lease.
        await redis.ShutdownAsync();
        release.SetResult();
        await Eventually.TrueAsync(() => logs.Lines.Any(l => l.Contains("Recording the outcome of webhook event", StringComparison.Ordinal)), "the failed record logged");
        await redis.RestartAsync();
        // The sender logs the attempt once Redis took its outcome.
        await Eventually.TrueAsync(() => logs.Lines.Any(l => l.Contains("attempt 1: Delivered", StringComparison.Ordinal)), "the delivery recorded");

        Assert.Equal(0, await host.Store.PendingAsync());
        Assert.Equal([200], receiver.Received.Select(r => r.Status));
        output.WriteLine(string.Join('\n', logs.Lines.Where(l => l.Contains("webhook", StringComparison.OrdinalIgnoreCase))));
    }
}
