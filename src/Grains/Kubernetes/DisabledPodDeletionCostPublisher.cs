namespace OrleansLlm.Kubernetes;

/// <summary>Outside Kubernetes there is no pod to annotate.</summary>
public sealed class DisabledPodDeletionCostPublisher : IPodDeletionCostPublisher
{
    public bool IsEnabled => false;

    public Task<bool> PublishAsync(string pod, int cost, CancellationToken cancellationToken) => Task.FromResult(false);
}
