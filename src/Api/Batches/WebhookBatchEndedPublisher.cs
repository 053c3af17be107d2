using OrleansLlm.Webhooks;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// Tells a batch's end as its webhook event (<c>batch.completed</c>, <c>batch.failed</c>, <c>batch.expired</c> or
/// <c>batch.cancelled</c>, named as OpenAI names them) through the <see cref="WebhookOutbox"/>, which stores it at most
/// once however often it is told, and sends nothing when <c>Webhooks:Url</c> is unset.
/// </summary>
public sealed class WebhookBatchEndedPublisher(WebhookOutbox outbox, TimeProvider time) : IBatchEndedPublisher
{
    public async Task PublishAsync(OpenAiBatchView batch, CancellationToken cancellationToken)
    {
        var type = $"batch.{batch.Status}";
        // The event's created_at is when the batch ended: the time of the status it ended in.
        var at = batch.Times.TryGetValue(batch.Status, out var ended) ? ended : time.GetUtcNow();
        await outbox.PublishAsync(type, batch.Id, at, cancellationToken);
    }
}
