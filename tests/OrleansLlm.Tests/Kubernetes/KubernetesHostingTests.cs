using OllamaSim;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Kubernetes;

/// <summary>
/// The real silo executable started as Kubernetes starts it in a pod (the Downward API's variables, the orleans/*
/// ids), reaching a fake Kubernetes API over HTTP through a kubeconfig: Orleans' Kubernetes hosting and the pod
/// deletion cost, end to end.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Process")]
public sealed class KubernetesHostingTests(RedisServer redis) : IAsyncLifetime
{
    private const string Namespace = "llm-e2e";
    private const string ServiceId = "orleansllm-e2e";
    private const string ClusterIdLabel = "orleans/clusterId";
    private const string ServiceIdLabel = "orleans/serviceId";

    private readonly string _clusterId = LlmClusterOptions.NewQueueName();
    private readonly List<SimulatorServer> _simulators = [];
    private readonly List<SiloProcess> _silos = [];
    private FakeKubernetesApi _api = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync(Namespace);
        _kubeconfig = _api.WriteKubeConfig();
    }

    [Fact]
    public async Task SiloInPod_NamedAfterItsPod_LabelsIt_OwnCostKept_SiloWhosePodIsGoneDeclaredDead()
    {
        // worker-a's pod carries a cost of no bucket, as left by an older version: its silo rewrites it as idle.
        _api.AddPod("worker-a", annotations: new Dictionary<string, string> { [FakeKubernetesApi.DeletionCostAnnotation] = "7" });
        _api.AddPod("worker-b");
        _api.AddPod("unrelated", new Dictionary<string, string> { ["app"] = "redis" });

        var a = await StartSiloInPodAsync("worker-a");

        // Kubernetes hosting labelled the pod with the cluster's ids, read from ORLEANS_CLUSTER_ID and ORLEANS_SERVICE_ID.
        Assert.Equal(_clusterId, _api.Label("worker-a", ClusterIdLabel));
        Assert.Equal(ServiceId, _api.Label("worker-a", ServiceIdLabel));
        Assert.Contains(_api.Requests, r => r.Method == "GET" && r.Path == _api.PodPath("worker-a"));
        Assert.Contains(_api.Requests, r => r.Method == "GET" && r.Path == $"/api/v1/namespaces/{Namespace}/pods"
            && Uri.UnescapeDataString(r.Query).Contains($"labelSelector={ServiceIdLabel}={ServiceId},{ClusterIdLabel}={_clusterId}", StringComparison.Ordinal));

        // It advertises POD_IP, and works.
        var db = redis.Connection.GetDatabase();
        var keys = new OrleansLlm.Queue.QueueKeys(_clusterId);
        var city = (await Cities.LoadAsync(1))[0];
        await db.ListRightPushAsync(keys.Ready, city.Json);
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(db, keys) == 1, "the item's result");
        var result = System.Text.Json.JsonDocument.Parse((string)((await QueueHandle.RawResultsAsync(db, keys)).Values.ToArray())[0]!);
        Assert.True(a.Owns(result.RootElement.GetProperty("meta").GetProperty("silo").GetString()!), result.RootElement.GetRawText());

        // The silo knows its pod by its own name (POD_NAME) and patches it in POD_NAMESPACE.
        await Eventually.TrueAsync(() => _api.Annotation("worker-a", FakeKubernetesApi.DeletionCostAnnotation) == "0",
            "worker-a's deletion cost to be set to 0 (idle)", describe: () => Task.FromResult(_api.Describe()));

        // worker-a's pod disappears without its silo stopping (a lost node): the next silo to start finds an
        // active silo without a pod, and declares it dead; the silo learns it is dead and stops.
        _api.DeletePod("worker-a");
        await StartSiloInPodAsync("worker-b");
        await Eventually.TrueAsync(() => a.HasExited, "the silo whose pod was deleted to be declared dead and stop",
            describe: () => Task.FromResult(_api.Describe()));

        // worker-b's pod has no cost, which counts as 0: idle already, so its silo only read it.
        Assert.Equal(_clusterId, _api.Label("worker-b", ClusterIdLabel));
        // Read twice: by Kubernetes hosting (its labels) and for its cost, before the silo turned ready.
        await Eventually.TrueAsync(() => _api.Requests.Count(r => r.Method == "GET" && r.Path == _api.PodPath("worker-b")) >= 2,
            "worker-b's pod to be read for its cost", describe: () => Task.FromResult(_api.Describe()));
        Assert.DoesNotContain(_api.Patches, p => p.Path == _api.PodPath("worker-b") && p.Body.Contains("pod-deletion-cost", StringComparison.Ordinal));
        Assert.Null(_api.Label("unrelated", ClusterIdLabel));
        Assert.DoesNotContain(_api.Requests, r => r.Path.EndsWith("/unrelated", StringComparison.Ordinal));
        Assert.All(_api.Requests, r => Assert.Equal($"Bearer {_api.Token}", r.Authorization));
        PodDeletionCostTests.AssertValidCostPatches(_api, ["worker-a", "worker-b"], _api.Patches.Where(p => p.Body.Contains("pod-deletion-cost")));
        Assert.All(_api.Patches, p => Assert.Equal("application/merge-patch+json", p.ContentType?.Split(';')[0]));
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        foreach (var sim in _simulators)
        {
            await sim.DisposeAsync();
        }

        await _api.DisposeAsync();
    }

    private async Task<SiloProcess> StartSiloInPodAsync(string pod)
    {
        var sim = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
        _simulators.Add(sim);
        var settings = new Dictionary<string, string>
        {
            // What the kubelet and the Downward API give every container of the pod.
            ["KUBERNETES_SERVICE_HOST"] = _api.Url.Host,
            ["KUBERNETES_SERVICE_PORT"] = _api.Url.Port.ToString(),
            ["POD_NAME"] = pod,
            ["POD_NAMESPACE"] = Namespace,
            ["POD_IP"] = "127.0.0.1",
            ["ORLEANS_CLUSTER_ID"] = _clusterId,
            ["ORLEANS_SERVICE_ID"] = ServiceId,
            ["Orleans:ClusterId"] = _clusterId,
            ["Orleans:ServiceId"] = ServiceId,
            // No service account here: the API is reached through a kubeconfig.
            ["Kubernetes:ConfigFile"] = _kubeconfig,
            ["Kubernetes:PodDeletionCostInterval"] = "00:00:00.200",
            ["Kubernetes:PodDeletionCostIdleAfter"] = "00:00:01",
            ["Orleans:Membership:TableRefreshTimeout"] = "00:00:02",
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Queue:Name"] = _clusterId,
            ["Ollama:Url"] = sim.Url.ToString(),
            ["Worker:AdaptiveConcurrency"] = "false",
        };
        var silo = await SiloProcess.StartAsync(settings);
        _silos.Add(silo);
        return silo;
    }
}
