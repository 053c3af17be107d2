using k8s.Models;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// Each port a pod listens on is reachable from exactly the peers it needs, evaluated from the rendered
/// NetworkPolicies (<see cref="NetworkPolicyEvaluator"/>) against pods labelled as the manifests label them.
/// </summary>
[Trait("Category", "Deploy")]
public sealed class NetworkPolicyTests(ITestOutputHelper output)
{
    public const string Namespace = "orleansllm";
    public const string KedaNamespace = "keda";

    private const string Silos = "silo pods";
    private const string Clients = "client pods";
    private const string Keda = "KEDA's operator";
    private const string Prometheus = "Prometheus";

    public static TheoryData<string> Overlays => new() { "overlays/cpu", "overlays/gpu", ManifestTests.VllmOverlay };

    /// <summary>Who may open a connection to each port of each container: the whole list, nobody else.</summary>
    private static readonly Dictionary<string, string[]> Expected = new()
    {
        ["orleansllm-silo/silo:8080"] = [],
        ["orleansllm-silo/silo:9464"] = [],
        ["orleansllm-silo/silo:11111"] = [Silos],
        ["orleansllm-silo/silo:30000"] = [Silos, Clients],
        ["orleansllm-silo/ollama:11434"] = [],
        ["orleansllm-redis/redis:6379"] = [Silos, Clients, Keda],
    };

    [SkippableTheory, MemberData(nameof(Overlays))]
    public Task EveryPort_ReachableFromExactlyItsPeers(string overlay) => AssertReachableAsync(RenderedManifests.RenderAsync(overlay), ExpectedFor(overlay));

    /// <summary>The monitoring component opens the metrics port to Prometheus in the namespace monitoring, and nothing else to anyone.</summary>
    [SkippableTheory, MemberData(nameof(Overlays))]
    public Task WithMonitoring_MetricsAloneAreOpen_ToPrometheusOfTheMonitoringNamespace(string overlay) =>
        AssertReachableAsync(MonitoringManifestTests.RenderWithMonitoringAsync(overlay), new Dictionary<string, string[]>(ExpectedFor(overlay)) { ["orleansllm-silo/silo:9464"] = [Prometheus] });

    /// <summary>
    /// With vLLM's metrics (deploy/components/keda-vllm-waiting, through vllm-monitoring) Prometheus may also reach
    /// vLLM's port, and nobody else may: vLLM listens on the pod's addresses, unlike Ollama, so this is what closes it.
    /// </summary>
    [SkippableFact]
    public Task WithVllmMetrics_VllmsPortIsOpen_ToPrometheusAlone() =>
        AssertReachableAsync(
            RenderedManifests.RenderAsync(ManifestTests.VllmMonitoringOverlay),
            new Dictionary<string, string[]>(ExpectedFor(ManifestTests.VllmOverlay)) { ["orleansllm-silo/silo:9464"] = [Prometheus], ["orleansllm-silo/vllm:8001"] = [Prometheus] });

    /// <summary>The vllm overlay's pods run vLLM on 8001 instead of Ollama on 11434: closed to everyone alike.</summary>
    private static Dictionary<string, string[]> ExpectedFor(string overlay)
    {
        var expected = new Dictionary<string, string[]>(Expected);
        if (overlay == ManifestTests.VllmOverlay)
        {
            expected.Remove("orleansllm-silo/ollama:11434");
            expected["orleansllm-silo/vllm:8001"] = [];
        }

        return expected;
    }

    /// <summary>The api component opens the silos' API port to every peer, inside the cluster or out, and nothing else to anyone.</summary>
    [SkippableFact]
    public async Task WithTheApi_TheApiPortAlone_IsOpen_ToEveryone()
    {
        var m = await RenderedManifests.RenderAsync(ApiManifestTests.Overlay);
        var everyone = (await PeersAsync(m)).Select(p => p.Name).Distinct().ToArray();
        await AssertReachableAsync(Task.FromResult(m), new Dictionary<string, string[]>(Expected) { ["orleansllm-silo/silo:8000"] = everyone });
    }

    private async Task AssertReachableAsync(Task<RenderedManifests> rendering, Dictionary<string, string[]> expected)
    {
        var m = await rendering;
        var evaluator = new NetworkPolicyEvaluator([.. m.All<V1NetworkPolicy>()]);
        var peers = await PeersAsync(m);

        var actual = new Dictionary<string, string[]>();
        foreach (var deployment in m.All<V1Deployment>())
        {
            var pod = deployment.Spec.Template;
            var containers = pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).ToArray();
            var named = containers.SelectMany(c => c.Ports ?? []).Where(p => p.Name is not null).ToDictionary(p => p.Name, p => p.ContainerPort);
            foreach (var container in containers)
            {
                foreach (var port in container.Ports ?? [])
                {
                    Assert.True((port.Protocol ?? "TCP") == "TCP", $"{container.Name}:{port.ContainerPort} is not TCP");
                    var allowed = peers.Where(p => evaluator.Allows(p, Namespace, pod.Metadata.Labels, port.ContainerPort, named)).ToArray();
                    var categories = allowed.Select(p => p.Name).Distinct().Order().ToArray();

                    // A category is let in whole or not at all: every client pod alike.
                    foreach (var category in categories)
                    {
                        Assert.All(peers.Where(p => p.Name == category), p => Assert.Contains(p, allowed));
                    }

                    actual[$"{deployment.Metadata.Name}/{container.Name}:{port.ContainerPort}"] = categories;
                }
            }
        }

        output.WriteLine(string.Join("\n", actual.Select(kv => $"{kv.Key} <- {(kv.Value.Length == 0 ? "nobody" : string.Join(", ", kv.Value))}")));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(expected, kv => Assert.Equal(kv.Value.Order(), actual[kv.Key]));
    }

    [SkippableFact]
    public async Task Evaluator_WithoutTheDefaultDeny_LetsOthersIn_WithoutAnyPolicy_LetsEveryoneIn()
    {
        var m = await RenderedManifests.RenderAsync("overlays/cpu");
        var peers = await PeersAsync(m);
        var silo = m.SiloDeployment.Spec.Template.Metadata.Labels;
        var named = new Dictionary<string, int>();

        var none = new NetworkPolicyEvaluator([]);
        Assert.All(peers, p => Assert.True(none.Allows(p, Namespace, silo, 8080, named), $"{p} without policies"));

        // Without the default deny the silo's own policy still isolates it; Redis' keeps its own.
        var withoutDefault = new NetworkPolicyEvaluator([.. m.All<V1NetworkPolicy>().Where(p => p.Metadata.Name != "default-deny-ingress")]);
        Assert.False(withoutDefault.Allows(peers.Single(p => p.Name == "another pod of the namespace"), Namespace, silo, 30000, named));

        // Nothing selects an unlabelled pod but the default deny.
        var unlabelled = new Dictionary<string, string> { ["app"] = "debug" };
        Assert.True(withoutDefault.Allows(peers.Single(p => p.Name == "outside the cluster"), Namespace, unlabelled, 80, named));
        Assert.False(new NetworkPolicyEvaluator([.. m.All<V1NetworkPolicy>()]).Allows(peers.Single(p => p.Name == Silos), Namespace, unlabelled, 80, named));
    }

    [SkippableFact]
    public async Task Dashboard_NoServiceOrIngressExposesTheSilos()
    {
        foreach (var overlay in (string[])["overlays/cpu", "overlays/gpu", ManifestTests.VllmOverlay])
        {
            var m = await RenderedManifests.RenderAsync(overlay);
            var silo = m.SiloDeployment.Spec.Template.Metadata.Labels;
            Assert.DoesNotContain(m.All<V1Service>(), s => s.Spec.Selector is { } selector && selector.All(kv => silo.TryGetValue(kv.Key, out var v) && v == kv.Value));
            Assert.Empty(m.All<V1Ingress>());
            Assert.DoesNotContain(m.All<V1Service>(), s => s.Spec.Type is "LoadBalancer" or "NodePort");
        }
    }

    private static Dictionary<string, string> KedaOperator => new() { ["app"] = "keda-operator", ["app.kubernetes.io/name"] = "keda-operator" };

    /// <summary>
    /// Everyone who might knock: the manifests' own pods, an unrelated pod, KEDA, a look-alike elsewhere, a team's
    /// client and an ingress controller in namespaces of their own, the outside.
    /// </summary>
    private static async Task<IReadOnlyList<Peer>> PeersAsync(RenderedManifests overlay)
    {
        var submit = await RenderedManifests.RenderAsync("jobs/submit-cities");
        var results = await RenderedManifests.RenderAsync("jobs/results");
        var silo = overlay.SiloDeployment.Spec.Template.Metadata.Labels;
        var cli = CliPod.FromRepository("registry.example.com/orleansllm/client:0.1.0", ["status"]);
        return
        [
            Peer.Pod(Silos, Namespace, silo),
            .. submit.All<V1Job>().Concat(results.All<V1Job>()).Select(j => Peer.Pod(Clients, Namespace, j.Spec.Template.Metadata.Labels)),
            Peer.Pod(Clients, Namespace, cli.Metadata.Labels),
            Peer.Pod("the Redis pod", Namespace, overlay.Single<V1Deployment>("orleansllm-redis").Spec.Template.Metadata.Labels),
            Peer.Pod("another pod of the namespace", Namespace, new Dictionary<string, string> { ["app"] = "debug" }),
            // KEDA's operator wherever it is installed: its Helm chart's namespace, the AKS add-on's, another.
            Peer.Pod(Keda, KedaNamespace, KedaOperator),
            Peer.Pod(Keda, "kube-system", KedaOperator),
            Peer.Pod(Keda, "platform-autoscaling", KedaOperator),
            Peer.Pod("KEDA's metrics server, beside its operator", KedaNamespace, new Dictionary<string, string> { ["app.kubernetes.io/name"] = "keda-operator-metrics-apiserver" }),
            Peer.Pod(Prometheus, "monitoring", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus", ["prometheus"] = "kube-prometheus-stack-prometheus" }),
            Peer.Pod("Grafana in the monitoring namespace", "monitoring", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "grafana" }),
            Peer.Pod("a Prometheus elsewhere", "team-a", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" }),
            Peer.Pod("a silo look-alike in another namespace", "default", silo),
            Peer.Pod("a team's client in its own namespace", "team-a", new Dictionary<string, string> { ["app"] = "enrich" }),
            Peer.Pod("ingress-nginx's controller", "ingress-nginx", ApiManifestTests.IngressControllerLabels),
            Peer.Outside("outside the cluster", "203.0.113.9"),
        ];
    }
}
