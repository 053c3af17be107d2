namespace OrleansLlm;

/// <summary>Read-only view of the whole queue: what is waiting, in flight and dead-lettered, and the known batches.</summary>
[Alias("OrleansLlm.IQueueGrain")]
public interface IQueueGrain : IGrainWithIntegerKey
{
    [Alias("GetOverview")]
    Task<QueueOverview> GetOverviewAsync();
}
