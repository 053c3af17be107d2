using Orleans.TestingHost;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// A test-only stand-in for KEDA and the HPA: at every poll it reads the real Redis counts, applies KEDA's formula
/// desired = ceil((ready + in flight) / target), clamped to [min, max], and starts or gracefully stops silos.
/// </summary>
/// <remarks>
/// Like a ReplicaSet it removes the newest pod first; the first silo is never removed, as a Deployment with
/// minReplicas 1 keeps one. Stopping goes through <see cref="InProcessTestCluster.StopSiloAsync"/>, i.e. the drain.
/// </remarks>
public sealed class KedaScaleSimulator(LlmCluster cluster, int target, int minReplicas, int maxReplicas, TimeSpan pollInterval)
{
    private readonly List<InProcessSiloHandle> _scaledUp = [];

    /// <summary>Every silo this simulator ever started, including those it stopped since.</summary>
    public List<InProcessSiloHandle> Started { get; } = [];

    /// <summary>Every replica count the simulator set, in order (repeats collapsed).</summary>
    public List<int> History { get; } = [];

    public int Replicas => cluster.Cluster.GetActiveSilos().Count();

    public static int Desired(long metric, int target, int min, int max) =>
        Math.Clamp((int)Math.Ceiling(metric / (double)target), min, max);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var metric = await cluster.Db.ListLengthAsync(cluster.Keys.Ready) + await cluster.Db.HashLengthAsync(cluster.Keys.InFlight);
            var desired = Desired(metric, target, minReplicas, maxReplicas);
            while (Replicas < desired)
            {
                var silo = cluster.Track(await cluster.Cluster.StartAdditionalSiloAsync());
                _scaledUp.Add(silo);
                Started.Add(silo);
            }

            while (Replicas > desired && _scaledUp.Count > 0)
            {
                var newest = _scaledUp[^1];
                _scaledUp.RemoveAt(_scaledUp.Count - 1);
                if (cluster.Cluster.GetActiveSilos().Contains(newest))
                {
                    await cluster.Cluster.StopSiloAsync(newest);
                }
            }

            if (History.Count == 0 || History[^1] != Replicas)
            {
                History.Add(Replicas);
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

    /// <summary>The silos this simulator started that are still up, to pick a crash victim from.</summary>
    public IReadOnlyList<InProcessSiloHandle> ScaledUpSilos => _scaledUp.Where(s => cluster.Cluster.GetActiveSilos().Contains(s)).ToArray();

    /// <summary>Forget a silo killed behind the simulator's back, as a ReplicaSet would replace it.</summary>
    public void Forget(InProcessSiloHandle silo) => _scaledUp.Remove(silo);
}
