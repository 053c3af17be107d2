using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Kubernetes;

/// <summary>
/// The coordinator's view of the pods' deletion costs: what each silo's pod should cost, and what was last written,
/// so a pod is patched only when its cost changes.
/// </summary>
/// <remarks>
/// <para>
/// A pod's cost is the number of leases its silo holds in Redis: an idle pod costs 0 and is deleted first on a
/// scale-down; a busy pod costs one per item in flight. A draining pod needs nothing special: it reports not ready,
/// and the ReplicaSet removes not-ready pods before ready ones whatever their cost.
/// </para>
/// <para>
/// Only active silos count, by their silo name, which Kubernetes hosting sets to the pod's name. A dead silo's pod
/// is never patched: it is gone or going, and its leases are handed back by the coordinator. Nothing here survives
/// the coordinator: a fresh activation writes every pod's cost once, since it cannot know what was written before.
/// A failed patch is logged and tried again on the next round.
/// </para>
/// </remarks>
public sealed partial class PodDeletionCostTracker(
    IPodDeletionCostPublisher publisher,
    IOptions<KubernetesOptions> options,
    ILogger<PodDeletionCostTracker> logger)
{
    // One slow API call must not hold up the rounds for long; it is tried again on the next one.
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, int> _published = new(StringComparer.Ordinal);

    public bool IsEnabled => publisher.IsEnabled;

    public TimeSpan Interval => options.Value.PodDeletionCostInterval;

    /// <summary>The cost each active silo's pod should have, by pod name.</summary>
    /// <param name="leasesByOwner">Leases in Redis by owner (silo address).</param>
    public static Dictionary<string, int> Compute(ClusterMembershipSnapshot snapshot, IReadOnlyDictionary<string, long> leasesByOwner)
    {
        var costs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active || string.IsNullOrEmpty(member.Name))
            {
                continue;
            }

            // A restarted container keeps its pod's name under a new silo address: both count until the old one is dead.
            var leases = leasesByOwner.GetValueOrDefault(member.SiloAddress.ToParsableString());
            costs[member.Name] = (int)Math.Min(costs.GetValueOrDefault(member.Name) + leases, int.MaxValue);
        }

        return costs;
    }

    /// <summary>Patches every pod whose cost differs from what was last written to it.</summary>
    /// <returns>How many pods were patched.</returns>
    public async Task<int> PublishAsync(ClusterMembershipSnapshot snapshot, IReadOnlyDictionary<string, long> leasesByOwner, CancellationToken cancellationToken)
    {
        var costs = Compute(snapshot, leasesByOwner);
        foreach (var gone in _published.Keys.Where(pod => !costs.ContainsKey(pod)).ToArray())
        {
            _published.Remove(gone);
        }

        var patched = 0;
        foreach (var (pod, cost) in costs)
        {
            if (_published.TryGetValue(pod, out var last) && last == cost)
            {
                continue;
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(RequestTimeout);
                if (await publisher.PublishAsync(pod, cost, timeout.Token))
                {
                    patched++;
                    LogPublished(logger, pod, cost);
                }

                // A pod that is not found is remembered too, so it is not asked for again on every round.
                _published[pod] = cost;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogPublishFailed(logger, ex, pod, cost);
            }
        }

        return patched;
    }
}
