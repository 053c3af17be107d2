namespace OrleansLlm.Api.Batches;

/// <summary>
/// Told once a batch of the API has ended (completed, failed, expired or cancelled), e.g. to send its webhook. The
/// grain calls it before it marks the end as told, so a silo lost in between has it told again: at least once.
/// </summary>
public interface IBatchEndedPublisher
{
    Task PublishAsync(OpenAiBatchView batch, CancellationToken cancellationToken);
}
