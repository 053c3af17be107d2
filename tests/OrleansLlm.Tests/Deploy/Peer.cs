using System.Net;

namespace OrleansLlm.Tests.Deploy;

/// <summary>Something that may try to connect to a pod: another pod (its namespace and labels), or an address outside the cluster.</summary>
public sealed record Peer(string Name, string? Namespace, IDictionary<string, string>? NamespaceLabels, IDictionary<string, string>? PodLabels, IPAddress? Address = null)
{
    /// <summary>A pod in <paramref name="ns"/>, whose namespace carries the label Kubernetes sets on every namespace.</summary>
    public static Peer Pod(string name, string ns, IDictionary<string, string> labels) =>
        new(name, ns, new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns }, labels);

    public static Peer Outside(string name, string address) => new(name, null, null, null, IPAddress.Parse(address));

    public override string ToString() => Name;
}
