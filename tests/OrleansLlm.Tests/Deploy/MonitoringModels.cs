using k8s;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

// The Prometheus Operator's PodMonitor is not in KubernetesClient's model: this typed class stands in for the fields
// deploy/monitoring uses (monitoring.coreos.com/v1), so strict parsing rejects any field it lacks, e.g. a misspelt
// "podMetricsEndpoint" that a cluster's operator would silently ignore.

public sealed class PodMonitor : IKubernetesObject<V1ObjectMeta>
{
    public const string ApiGroupVersion = "monitoring.coreos.com/v1";

    public string ApiVersion { get; set; } = ApiGroupVersion;

    public string Kind { get; set; } = nameof(PodMonitor);

    public V1ObjectMeta Metadata { get; set; } = new();

    public PodMonitorSpec Spec { get; set; } = new();
}

public sealed class PodMonitorSpec
{
    public V1LabelSelector Selector { get; set; } = new();

    public List<PodMetricsEndpoint> PodMetricsEndpoints { get; set; } = [];
}

public sealed class PodMetricsEndpoint
{
    public string? Port { get; set; }

    public string? Path { get; set; }

    public string? Interval { get; set; }
}
