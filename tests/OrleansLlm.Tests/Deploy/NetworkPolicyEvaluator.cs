using System.Net;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// Decides, as a network plugin would from NetworkPolicy objects, whether a peer may open a connection to a port of
/// a pod: https://kubernetes.io/docs/concepts/services-networking/network-policies/ . A pod no Ingress policy selects
/// accepts everyone; a selected pod accepts what at least one rule of one selecting policy allows, a rule matching
/// when one of its ports and one of its peers match (an empty or missing list matches all).
/// </summary>
/// <remarks>
/// Traffic from the pod's own node (kubelet probes, kubectl port-forward) and within the pod is never subject to
/// NetworkPolicy, so it is not a peer here.
/// </remarks>
public sealed class NetworkPolicyEvaluator(IReadOnlyList<V1NetworkPolicy> policies)
{
    /// <summary>Whether <paramref name="peer"/> may connect to <paramref name="port"/>/TCP of a pod in <paramref name="podNamespace"/> labelled <paramref name="podLabels"/>.</summary>
    /// <param name="namedPorts">The pod's container ports by name, for policies that name a port.</param>
    public bool Allows(Peer peer, string podNamespace, IDictionary<string, string> podLabels, int port, IReadOnlyDictionary<string, int> namedPorts)
    {
        var selecting = policies
            .Where(p => (p.Metadata.NamespaceProperty ?? "default") == podNamespace)
            .Where(p => Matches(p.Spec.PodSelector, podLabels))
            .Where(p => p.Spec.PolicyTypes?.Contains("Ingress") ?? true)
            .ToArray();
        if (selecting.Length == 0)
        {
            return true;
        }

        return selecting.SelectMany(p => (p.Spec.Ingress ?? []).Select(rule => (Policy: p, Rule: rule)))
            .Any(r => PortMatches(r.Rule.Ports, port, namedPorts) && PeerMatches(r.Rule.FromProperty, r.Policy.Metadata.NamespaceProperty ?? "default", peer));
    }

    /// <summary>
    /// Whether a pod in <paramref name="podNamespace"/> labelled <paramref name="podLabels"/> may open a connection to
    /// <paramref name="port"/>/<paramref name="protocol"/> of <paramref name="destination"/>: as for ingress, a pod no
    /// Egress policy selects may go anywhere; a selected one only where a rule of a selecting policy allows.
    /// </summary>
    public bool AllowsEgress(string podNamespace, IDictionary<string, string> podLabels, Peer destination, int port, string protocol = "TCP")
    {
        var selecting = policies
            .Where(p => (p.Metadata.NamespaceProperty ?? "default") == podNamespace)
            .Where(p => Matches(p.Spec.PodSelector, podLabels))
            .Where(p => p.Spec.PolicyTypes?.Contains("Egress") ?? p.Spec.Egress is not null)
            .ToArray();
        if (selecting.Length == 0)
        {
            return true;
        }

        return selecting.SelectMany(p => (p.Spec.Egress ?? []).Select(rule => (Policy: p, Rule: rule)))
            .Any(r => PortMatches(r.Rule.Ports, port, new Dictionary<string, int>(), protocol) && PeerMatches(r.Rule.To, r.Policy.Metadata.NamespaceProperty ?? "default", destination));
    }

    private static bool PortMatches(IList<V1NetworkPolicyPort>? ports, int port, IReadOnlyDictionary<string, int> namedPorts, string protocol = "TCP") =>
        ports is null || ports.Count == 0 || ports.Any(p =>
        {
            if ((p.Protocol ?? "TCP") != protocol)
            {
                return false;
            }

            if (p.Port is null)
            {
                return true;
            }

            var number = int.TryParse(p.Port.Value, out var n) ? n : namedPorts.GetValueOrDefault(p.Port.Value, -1);
            return p.EndPort is { } end ? port >= number && port <= end : port == number;
        });

    private static bool PeerMatches(IList<V1NetworkPolicyPeer>? from, string policyNamespace, Peer peer) =>
        from is null || from.Count == 0 || from.Any(f => f switch
        {
            { IpBlock: { } block } => peer.Address is { } address && InBlock(block, address),
            { PodSelector: var pods, NamespaceSelector: null } when pods is not null =>
                peer.Namespace == policyNamespace && peer.PodLabels is { } labels && Matches(pods, labels),
            { PodSelector: var pods, NamespaceSelector: { } namespaces } =>
                peer.NamespaceLabels is { } nsLabels && Matches(namespaces, nsLabels)
                && peer.PodLabels is { } labels && (pods is null || Matches(pods, labels)),
            _ => false,
        });

    private static bool InBlock(V1IPBlock block, IPAddress address) =>
        IPNetwork.Parse(block.Cidr).Contains(address) && !(block.Except ?? []).Any(e => IPNetwork.Parse(e).Contains(address));

    /// <summary>A label selector: every matchLabels pair and every matchExpressions requirement holds; empty selects all.</summary>
    public static bool Matches(V1LabelSelector? selector, IDictionary<string, string> labels) =>
        selector is not null
        && (selector.MatchLabels ?? new Dictionary<string, string>()).All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new Xunit.Sdk.XunitException($"unknown selector operator {e.OperatorProperty}"),
        });
}
