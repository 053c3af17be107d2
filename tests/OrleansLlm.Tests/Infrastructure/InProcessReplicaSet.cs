using Orleans.TestingHost;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// Replicas as TestCluster silos: scale-up starts a silo (with a simulator of its own), scale-down stops the newest
/// one gracefully, i.e. through the drain. The first silo is never removed, as a Deployment keeps minReplicas.
/// </summary>
public sealed class InProcessReplicaSet(LlmCluster cluster) : IReplicaSet
{
    private readonly List<InProcessSiloHandle> _scaledUp = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Every silo this set started, including those it stopped since.</summary>
    public List<InProcessSiloHandle> Started { get; } = [];

    public int Replicas => cluster.Cluster.GetActiveSilos().Count();

    /// <summary>The silos it started that are still up, newest last.</summary>
    public IReadOnlyList<InProcessSiloHandle> ScaledUpSilos => _scaledUp.Where(s => cluster.Cluster.GetActiveSilos().Contains(s)).ToArray();

    public async Task ScaleUpAsync()
    {
        // One at a time: TestCluster numbers (and names) silos as it starts them, and Track relies on the name.
        await _gate.WaitAsync();
        try
        {
            var silo = cluster.Track(await cluster.Cluster.StartAdditionalSiloAsync());
            _scaledUp.Add(silo);
            Started.Add(silo);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ScaleDownAsync()
    {
        var newest = ScaledUpSilos.LastOrDefault() ?? throw new InvalidOperationException("only the first silo is left");
        _scaledUp.Remove(newest);
        await cluster.Cluster.StopSiloAsync(newest);
    }

    /// <summary>Forget a silo killed behind the set's back, as a ReplicaSet replaces a crashed pod.</summary>
    public void Forget(InProcessSiloHandle silo) => _scaledUp.Remove(silo);
}
