using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Webhooks;

/// <summary>
/// Publishes a batch's end as a webhook event: stored in Redis at once, sent by whichever silo's
/// <see cref="WebhookSender"/> takes it. Call it on every observation of the end; only the first stores anything.
/// </summary>
public sealed partial class WebhookOutbox(WebhookStore store, IOptions<WebhookOptions> options, ILogger<WebhookOutbox> logger)
{
    /// <summary>
    /// Stores the event <paramref name="type"/> of batch <paramref name="batchId"/> unless it was published before;
    /// the event then reaches <see cref="WebhookOptions.Url"/> at least once.
    /// </summary>
    /// <param name="type">One of <see cref="WebhookEventTypes"/>.</param>
    /// <param name="at">When the batch ended: the event's <c>created_at</c>.</param>
    /// <returns>True when this call stored the event; false when it was published already, or webhooks are off.</returns>
    /// <exception cref="ArgumentException">An unknown type, or a batch id that is not one.</exception>
    /// <exception cref="StackExchange.Redis.RedisException">Redis did not store it: call again (nothing is stored twice).</exception>
    public async Task<bool> PublishAsync(string type, string batchId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (!WebhookEventTypes.IsKnown(type))
        {
            throw new ArgumentException($"'{type}' is not a webhook event type: use one of {string.Join(", ", WebhookEventTypes.All)}.", nameof(type));
        }

        if (!BatchIds.IsValid(batchId))
        {
            throw new ArgumentException($"'{batchId}' is not a batch id.", nameof(batchId));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!options.Value.Enabled)
        {
            return false;
        }

        var id = WebhookEvent.NewId();
        var (stored, kept) = await store.PublishAsync(id, WebhookEvent.Body(id, type, batchId, at), type, batchId).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (stored)
        {
            LogPublished(logger, kept, type, batchId);
        }

        return stored;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook event {EventId} published: {Type} for batch {BatchId}")]
    private static partial void LogPublished(ILogger logger, string eventId, string type, string batchId);
}
