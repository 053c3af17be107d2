using Orleans.Concurrency;

namespace OrleansLlm.Batches;

/// <summary>Reads the queue's overall figures from Redis; stateless, so every silo may run one.</summary>
[StatelessWorker]
public sealed class QueueGrain(RedisBatchStore store) : Grain, IQueueGrain
{
    public async Task<QueueOverview> GetOverviewAsync()
    {
        var c = await store.GetQueueCountsAsync(recentBatches: 10, CancellationToken.None);
        return new QueueOverview(c.QueueName, c.Ready, c.InFlight, c.DeadLettered, c.RecentBatches);
    }
}
