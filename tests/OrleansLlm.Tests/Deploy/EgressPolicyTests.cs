using k8s.Models;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// deploy/components/egress, as an overlay of one's own turns it on with the API server's address patched in: each pod
/// reaches exactly the destinations it needs, evaluated from the rendered NetworkPolicies, and nothing else.
/// </summary>
[Trait("Category", "Deploy")]
public sealed class EgressPolicyTests(ITestOutputHelper output)
{
    /// <summary>What the docs' recipe finds as the API server's address, e.g. kind's control plane.</summary>
    public const string ApiServer = "172.18.0.2";

    private static readonly (string Name, Func<RenderedManifests, Peer> To, int Port, string Protocol)[] Destinations =
    [
        ("DNS/UDP", _ => Peer.Pod("kube-dns", "kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }), 53, "UDP"),
        ("DNS/TCP", _ => Peer.Pod("kube-dns", "kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }), 53, "TCP"),
        ("Redis", m => Peer.Pod("redis", NetworkPolicyTests.Namespace, m.Single<V1Deployment>("orleansllm-redis").Spec.Template.Metadata.Labels), 6379, "TCP"),
        ("silo port", m => Peer.Pod("silo", NetworkPolicyTests.Namespace, m.SiloDeployment.Spec.Template.Metadata.Labels), 11111, "TCP"),
        ("gateway", m => Peer.Pod("silo", NetworkPolicyTests.Namespace, m.SiloDeployment.Spec.Template.Metadata.Labels), 30000, "TCP"),
        ("silo dashboard", m => Peer.Pod("silo", NetworkPolicyTests.Namespace, m.SiloDeployment.Spec.Template.Metadata.Labels), 8080, "TCP"),
        ("API server", _ => Peer.Outside("api", ApiServer), 6443, "TCP"),
        ("model registry", _ => Peer.Outside("registry.ollama.ai", "104.21.75.227"), 443, "TCP"),
        ("the internet, not HTTPS", _ => Peer.Outside("web", "104.21.75.227"), 80, "TCP"),
        ("the cloud's metadata service", _ => Peer.Outside("metadata", "169.254.169.254"), 443, "TCP"),
        ("another service of the cluster", _ => Peer.Outside("pod", "10.244.3.7"), 443, "TCP"),
        ("a pod of another namespace", _ => Peer.Pod("db", "payments", new Dictionary<string, string> { ["app"] = "db" }), 5432, "TCP"),
    ];

    private static readonly Dictionary<string, string[]> Expected = new()
    {
        ["silo"] = ["API server", "DNS/TCP", "DNS/UDP", "Redis", "model registry", "silo port"],
        ["client"] = ["DNS/TCP", "DNS/UDP", "Redis", "gateway"],
        ["redis"] = ["DNS/TCP", "DNS/UDP"],
    };

    [SkippableFact]
    public async Task EgressComponent_EachPodReachesExactlyItsDestinations()
    {
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(Overlay(ApiServer)));
        var submit = await RenderedManifests.RenderAsync("jobs/submit-cities");
        var evaluator = new NetworkPolicyEvaluator([.. m.All<V1NetworkPolicy>()]);
        var pods = new Dictionary<string, IDictionary<string, string>>
        {
            ["silo"] = m.SiloDeployment.Spec.Template.Metadata.Labels,
            ["client"] = submit.All<V1Job>().Single().Spec.Template.Metadata.Labels,
            ["redis"] = m.Single<V1Deployment>("orleansllm-redis").Spec.Template.Metadata.Labels,
        };

        foreach (var (pod, labels) in pods)
        {
            var allowed = Destinations.Where(d => evaluator.AllowsEgress(NetworkPolicyTests.Namespace, labels, d.To(m), d.Port, d.Protocol)).Select(d => d.Name).Order(StringComparer.Ordinal).ToArray();
            output.WriteLine($"{pod} -> {string.Join(", ", allowed)}");
            Assert.Equal(Expected[pod], allowed);
        }

        // The CLI pod is a client like the Jobs.
        var cli = CliPod.FromRepository("registry.example.com/orleansllm/client:0.1.0", ["status"]);
        Assert.True(NetworkPolicyEvaluator.Matches(m.Single<V1NetworkPolicy>("orleansllm-egress-gateway").Spec.PodSelector, cli.Metadata.Labels));

        // Without the component nothing limits egress; without the patch the API server is out of reach (a loud failure).
        var open = new NetworkPolicyEvaluator([.. (await RenderedManifests.RenderAsync("overlays/cpu")).All<V1NetworkPolicy>()]);
        Assert.All(Destinations, d => Assert.True(open.AllowsEgress(NetworkPolicyTests.Namespace, pods["silo"], d.To(m), d.Port, d.Protocol), d.Name));
        var unpatched = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync("""
            resources:
              - ../cpu
            components:
              - ../../components/egress
            """));
        Assert.False(new NetworkPolicyEvaluator([.. unpatched.All<V1NetworkPolicy>()]).AllowsEgress(NetworkPolicyTests.Namespace, pods["silo"], Peer.Outside("api", ApiServer), 6443));
    }

    /// <summary>The overlay docs/kubernetes.md shows for the component, with the API server's address found by its recipe.</summary>
    public static string Overlay(string apiServer) => $$"""
        resources:
          - ../cpu
        components:
          - ../../components/egress
        patches:
          - target:
              kind: NetworkPolicy
              name: orleansllm-egress-kubernetes-api
            patch: |-
              - op: replace
                path: /spec/egress/0/to/0/ipBlock/cidr
                value: {{apiServer}}/32
        """;
}
