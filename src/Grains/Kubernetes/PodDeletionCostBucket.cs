namespace OrleansLlm.Kubernetes;

/// <summary>
/// The few deletion costs a silo gives its pod; each value is the cost written to
/// <c>controller.kubernetes.io/pod-deletion-cost</c>. On a scale-down the ReplicaSet deletes pods of lower cost first.
/// </summary>
/// <remarks>
/// <para>
/// Kubernetes advises against updating the annotation often or from a metric: every patch is a write to etcd and an
/// event for every watcher of the namespace's pods. So a pod moves between these buckets only when its silo's worker
/// starts or stops working, or drains, never as its in-flight count moves.
/// </para>
/// <para>
/// <see cref="Idle"/> is 0 because a pod without the annotation costs 0: a new pod starts idle and needs no patch.
/// <see cref="Busy"/> is positive, so a pod working on items is deleted last; <see cref="Draining"/> is negative, so
/// a pod already handing back its work is deleted first (it is also not ready, which the ReplicaSet weighs before any
/// cost). The gaps of 100 leave room for an operator's own values between the buckets.
/// </para>
/// </remarks>
public enum PodDeletionCostBucket
{
    /// <summary>The worker stopped leasing and is finishing or handing back its items.</summary>
    Draining = -100,

    /// <summary>The worker has held no item for <see cref="KubernetesOptions.PodDeletionCostIdleAfter"/>.</summary>
    Idle = 0,

    /// <summary>
    /// The worker holds items (in flight, or leased ahead of its free slots), or held some within
    /// <see cref="KubernetesOptions.PodDeletionCostIdleAfter"/>.
    /// </summary>
    Busy = 100,
}
