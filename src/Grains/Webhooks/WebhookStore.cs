using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Webhooks;

/// <summary>
/// The webhook outbox in Redis, under the queue's name (<see cref="QueueKeys.Webhooks"/> and the keys after it): every
/// write is one script of <c>Webhooks/Scripts/</c>, so a silo that dies between two steps leaves nothing half done.
/// </summary>
/// <remarks>
/// Lease deadlines and retry times are read on Redis' clock (<see cref="QueueClock"/>), like the queue's, so silos with
/// skewed clocks agree on when an event is due.
/// </remarks>
public sealed class WebhookStore(RedisConnection redis, IOptions<QueueOptions> queue, IOptions<WebhookOptions> options, QueueClock clock)
{
    public QueueKeys Keys { get; } = new(queue.Value.Name);

    private IDatabase Db => redis.Database;

    private WebhookOptions Options => options.Value;

    /// <summary>Stores the event unless one was published for its batch and type; returns whether it did, and the id of the event kept.</summary>
    internal async Task<(bool Stored, string EventId)> PublishAsync(string eventId, string body, string type, string batchId)
    {
        var result = (RedisResult[])(await WebhookScript.Publish.EvaluateAsync(
            Db,
            [Keys.WebhookOnce(batchId, type), Keys.Webhook(eventId), Keys.Webhooks],
            [eventId, body, type, batchId, clock.Argument(), Milliseconds(queue.Value.ResultTtl)]).ConfigureAwait(false))!;
        return ((long)result[0] == 1, (string)result[1]!);
    }

    /// <summary>Takes up to <paramref name="max"/> due events for <see cref="WebhookOptions.LeaseDuration"/>.</summary>
    public async Task<IReadOnlyList<WebhookLease>> LeaseAsync(string owner, int max)
    {
        var result = (RedisResult[])(await WebhookScript.Lease.EvaluateAsync(
            Db,
            [Keys.Webhooks, Keys.WebhookSequence, Keys.WebhookDead],
            [Keys.Webhook(string.Empty), clock.Argument(), Milliseconds(Options.LeaseDuration), max, owner, Milliseconds(Options.MaxAge)]).ConfigureAwait(false))!;
        var leases = new List<WebhookLease>(result.Length / 4);
        for (var i = 0; i + 3 < result.Length; i += 4)
        {
            leases.Add(new WebhookLease((string)result[i]!, (string)result[i + 1]!, (int)result[i + 2], (string)result[i + 3]!));
        }

        return leases;
    }

    /// <summary>The receiver accepted the event: forgets it.</summary>
    public async Task DeliveredAsync(WebhookLease lease) =>
        await WebhookScript.Delivered.EvaluateAsync(Db, [Keys.Webhooks, Keys.Webhook(lease.Id)], [lease.Id]).ConfigureAwait(false);

    /// <summary>An attempt failed with <paramref name="error"/>: the event is due again after <paramref name="delay"/>, or dead past its max age.</summary>
    public async Task<WebhookAttemptOutcome> RetryAsync(WebhookLease lease, string error, TimeSpan delay)
    {
        var outcome = (string)(await WebhookScript.Retry.EvaluateAsync(
            Db,
            [Keys.Webhooks, Keys.Webhook(lease.Id), Keys.WebhookDead],
            [lease.Id, lease.Token, error, Milliseconds(delay), Milliseconds(Options.MaxAge), clock.Argument()]).ConfigureAwait(false))!;
        return outcome switch
        {
            "retrying" => WebhookAttemptOutcome.Retrying,
            "dead" => WebhookAttemptOutcome.Dead,
            _ => WebhookAttemptOutcome.Fenced,
        };
    }

    /// <summary>Events not yet delivered nor given up on: waiting, due, or being sent.</summary>
    public Task<long> PendingAsync() => Db.SortedSetLengthAsync(Keys.Webhooks);

    /// <summary>The dead list, oldest first.</summary>
    public async Task<IReadOnlyList<DeadWebhook>> DeadAsync(long start = 0, long stop = -1)
    {
        var entries = await Db.ListRangeAsync(Keys.WebhookDead, start, stop).ConfigureAwait(false);
        return [.. entries.Select(e => JsonSerializer.Deserialize((string)e!, WebhookJson.Default.DeadWebhook)!)];
    }

    private static long Milliseconds(TimeSpan span) => (long)span.TotalMilliseconds;
}
