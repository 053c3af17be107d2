using StackExchange.Redis;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>Pods of the worker Deployment, as the scale simulator sees them.</summary>
public interface IReplicaSet
{
    int Replicas { get; }

    Task ScaleUpAsync();

    /// <summary>Removes one replica the way a ReplicaSet does: gracefully, newest first.</summary>
    Task ScaleDownAsync();
}

/// <summary>
/// A test-only stand-in for KEDA and the HPA: at every poll it reads the real Redis counts, applies KEDA's formula
/// desired = ceil((ready list + every class's ready set + in flight) / target), clamped to [min, max], and scales the
/// replica set to it.
/// </summary>
public sealed class KedaScaleSimulator(IDatabase redis, OrleansLlm.Queue.QueueKeys keys, IReplicaSet replicas, int target, int minReplicas, int maxReplicas, TimeSpan pollInterval)
{
    /// <summary>Every replica count the simulator set, in order (repeats collapsed).</summary>
    public List<int> History { get; } = [];

    public int Replicas => replicas.Replicas;

    public static int Desired(long metric, int target, int min, int max) =>
        Math.Clamp((int)Math.Ceiling(metric / (double)target), min, max);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var metric = await redis.ListLengthAsync(keys.Ready) + await redis.HashLengthAsync(keys.InFlight);
            foreach (var priority in BatchPriorities.All)
            {
                metric += await redis.SortedSetLengthAsync(keys.ReadyClass(priority));
            }
            var desired = Desired(metric, target, minReplicas, maxReplicas);
            if (replicas.Replicas < desired)
            {
                await Task.WhenAll(Enumerable.Range(0, desired - replicas.Replicas).Select(_ => replicas.ScaleUpAsync()));
            }

            while (replicas.Replicas > desired)
            {
                await replicas.ScaleDownAsync();
            }

            if (History.Count == 0 || History[^1] != replicas.Replicas)
            {
                History.Add(replicas.Replicas);
            }

            try
            {
                await Task.Delay(pollInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>True when the history went min → max → min at least <paramref name="times"/> times.</summary>
    public bool CycledFully(int times)
    {
        var cycles = 0;
        var up = false;
        foreach (var count in History)
        {
            if (count == maxReplicas)
            {
                up = true;
            }
            else if (count == minReplicas && up)
            {
                cycles++;
                up = false;
            }
        }

        return cycles >= times;
    }
}
