namespace OrleansLlm.Api.Batches;

/// <summary>What tells of a batch's end until a publisher (the webhooks) is registered: nobody.</summary>
public sealed class NoBatchEndedPublisher : IBatchEndedPublisher
{
    public Task PublishAsync(OpenAiBatchView batch, CancellationToken cancellationToken) => Task.CompletedTask;
}
