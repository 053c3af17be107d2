namespace OrleansLlm.Kubernetes;

/// <summary>Writes a pod's deletion cost where the ReplicaSet controller reads it.</summary>
public interface IPodDeletionCostPublisher
{
    /// <summary>False when nothing is published (outside Kubernetes): the coordinator then does not compute costs at all.</summary>
    bool IsEnabled { get; }

    /// <summary>Sets the deletion cost of the pod <paramref name="pod"/>.</summary>
    /// <returns>False if the pod does not exist (any more); other failures throw.</returns>
    Task<bool> PublishAsync(string pod, int cost, CancellationToken cancellationToken);
}
