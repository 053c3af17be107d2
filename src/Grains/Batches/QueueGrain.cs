using Orleans.Concurrency;
using OrleansLlm.Queue;

namespace OrleansLlm.Batches;

/// <summary>Reads the queue's overall figures from Redis; stateless, so every silo may run one.</summary>
[StatelessWorker]
public sealed class QueueGrain(RedisWorkQueue queue) : Grain, IQueueGrain
{
    public Task<QueueOverview> GetOverviewAsync() => queue.GetOverviewAsync(recentBatches: 10, CancellationToken.None);
}
