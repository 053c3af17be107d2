using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using Orleans.Configuration;
using Orleans.TestingHost;
using OrleansLlm.Kubernetes;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Worker;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Kubernetes;

/// <summary>
/// Each silo keeps its own pod's deletion cost in its worker's bucket (draining -100, idle 0, busy 100), through the
/// real KubernetesClient against a fake API server over HTTP, in a real cluster whose silos are named like pods (as
/// Kubernetes hosting names them). A pod is patched only when its bucket changes.
/// </summary>
[Collection(SlowRedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class PodDeletionCostTests(RedisServer redis, ITestOutputHelper output)
{
    private const string Namespace = "llm-test";
    private const string Annotation = FakeKubernetesApi.DeletionCostAnnotation;
    private const string Busy = "100";
    private const string Idle = "0";
    private const string Draining = "-100";

    // Requests make no progress until the test sets the simulator's speed back to 1, so leases hold still.
    private static SimulatorOptions HeldOllama(int _) => new() { Parallel = 2, TimeScale = 0.05, Speed = 1e-6 };

    [Fact]
    public async Task Costs_FollowTheWorkersBuckets_PatchedOnlyOnAChange_RetriedAfter500s()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        // The first silo's pod carries a cost of no bucket (an older version's in-flight count): it is rewritten at
        // start. The second's has none, which counts as 0, idle: nothing to write. The API fails the first 2 patches.
        var stray = new Dictionary<string, string?>();
        api.FailNextPatches(2);
        await using var cluster = await StartClusterAsync(api, silos: 2, annotate: pod =>
        {
            lock (stray)
            {
                return stray.TryGetValue(pod, out var cost) ? cost : stray[pod] = stray.Count == 0 ? "3" : null;
            }
        });
        var first = stray.Single(p => p.Value is not null).Key;
        var second = stray.Single(p => p.Value is null).Key;

        await Eventually.TrueAsync(() => api.Annotation(first, Annotation) == Idle, "the first pod's stray cost to be rewritten as idle", describe: Describe);
        Assert.Equal(2, api.Patches.Count(p => p.Path == api.PodPath(first) && p.Status == 500));
        Assert.Contains(api.Requests, r => r.Method == "GET" && r.Path == api.PodPath(second));
        Assert.DoesNotContain(api.Patches, p => p.Path == api.PodPath(second));

        // Each silo holds 2 items (Worker:MaxConcurrency 2) that make no progress: both pods are busy.
        await cluster.PushRawAsync((await Cities.LoadAsync(4)).Select(c => c.Json));
        await Eventually.TrueAsync(() => api.Annotation(first, Annotation) == Busy && api.Annotation(second, Annotation) == Busy,
            "both pods to be busy", describe: Describe);

        foreach (var simulator in cluster.Simulators)
        {
            simulator.SetSpeed(1);
        }

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 4, "4 results", describe: cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => api.Annotation(first, Annotation) == Idle && api.Annotation(second, Annotation) == Idle,
            "both pods to be idle again", describe: Describe);

        AssertValidCostPatches(api, [first, second]);
        Assert.Equal([Idle, Busy, Idle], Written(api, first));
        Assert.Equal([Busy, Idle], Written(api, second));
        Assert.Equal(2, api.Patches.Count(p => p.Status == 500));

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    [Fact]
    public async Task Trickle_InFlightDropsToZeroBetweenItems_PodStaysBusyUntilIdleAfter()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        await using var cluster = await StartClusterAsync(api, silos: 1, idleAfter: TimeSpan.FromSeconds(3), heldOllama: false);
        var pod = PodOf(cluster.SiloAt(0).Name);
        var state = cluster.SiloAt(0).SiloHost.Services.GetRequiredService<LocalWorkerState>();

        // One item at a time, each pushed once the last has its result: between them the worker has nothing in
        // flight, for up to a poll of the empty queue (Worker:PollMaxDelay, 1 s), which its heartbeats see.
        var clock = Stopwatch.StartNew();
        var sawNothingInFlight = 0;
        var cities = await Cities.LoadAsync(12);
        for (var i = 0; i < cities.Count; i++)
        {
            await cluster.PushRawAsync([cities[i].Json]);
            await Eventually.TrueAsync(async () =>
            {
                sawNothingInFlight += state.InFlight == 0 ? 1 : 0;
                return await cluster.ResultCountAsync() == i + 1;
            }, $"{i + 1} results", describe: cluster.DescribeQueueAsync);
            if (i == 0)
            {
                await Eventually.TrueAsync(() => api.Annotation(pod, Annotation) == Busy, "the pod to be busy", describe: Describe);
            }
        }

        var trickle = clock.Elapsed;
        await Eventually.TrueAsync(() => api.Annotation(pod, Annotation) == Idle, "the pod to be idle after the last item", describe: Describe);
        output.WriteLine($"12 items one at a time in {trickle.TotalSeconds:F1} s, the worker's heartbeat showed nothing in flight at " +
            $"{sawNothingInFlight} of the test's polls; patches: {string.Join(", ", Written(api, pod))}");
        Assert.Equal([Busy, Idle], Written(api, pod));

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    [Fact]
    public async Task StoppingSilo_ItsPodIsDrainingWhileItDrains_SurvivorFollowsItsWork()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        await using var cluster = await StartClusterAsync(api, silos: 2);
        var (victim, survivor) = (cluster.SiloAt(1), cluster.SiloAt(0));
        var (victimPod, survivorPod) = (PodOf(victim.Name), PodOf(survivor.Name));

        await cluster.PushRawAsync((await Cities.LoadAsync(4)).Select(c => c.Json));
        await Eventually.TrueAsync(() => api.Annotation(victimPod, Annotation) == Busy && api.Annotation(survivorPod, Annotation) == Busy,
            "both pods to be busy", describe: Describe);

        // SIGTERM: the silo drains (its held calls run out Worker:DrainTimeout, then go back to the queue); the pod is
        // marked draining while that happens, before the silo leaves.
        var stopping = cluster.Cluster.StopSiloAsync(victim);
        await Eventually.TrueAsync(() => api.Annotation(victimPod, Annotation) == Draining, "the stopping silo's pod to be draining", describe: Describe);
        Assert.False(stopping.IsCompleted, "the pod was marked draining only after its silo had stopped");
        await stopping;

        cluster.SimulatorOf(survivor).SetSpeed(1);
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 4, "4 results", describe: cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => api.Annotation(survivorPod, Annotation) == Idle, "the survivor's pod to be idle", describe: Describe);

        AssertValidCostPatches(api, [victimPod, survivorPod]);
        Assert.Equal([Busy, Draining], Written(api, victimPod));
        Assert.Equal([Busy, Idle], Written(api, survivorPod));

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    [Fact]
    public async Task PodNotFound_AtStartOrLater_NeverAskedForAgain()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        // The first silo configured has no pod (as if silo names were not pod names); the second's goes away later.
        var named = new List<string>();
        await using var cluster = await StartClusterAsync(api, silos: 2, hasPod: pod =>
        {
            lock (named)
            {
                if (!named.Contains(pod))
                {
                    named.Add(pod);
                }

                return named[0] != pod;
            }
        });
        var (missing, deleted) = (named[0], named[1]);
        var podless = cluster.Cluster.Silos.Single(s => PodOf(s.Name) == missing);
        var later = cluster.Cluster.Silos.Single(s => PodOf(s.Name) == deleted);

        await Eventually.TrueAsync(() => !ReporterOf(podless).IsRunning, "the silo without a pod to stop setting its cost", describe: Describe);
        var asked = Assert.Single(api.Requests, r => r.Path == api.PodPath(missing));
        Assert.Equal(("GET", 404), (asked.Method, asked.Status));

        await cluster.PushRawAsync((await Cities.LoadAsync(4)).Select(c => c.Json));
        await Eventually.TrueAsync(() => api.Annotation(deleted, Annotation) == Busy, "the other pod to be busy", describe: Describe);
        api.DeletePod(deleted);
        foreach (var simulator in cluster.Simulators)
        {
            simulator.SetSpeed(1);
        }

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 4, "4 results", describe: cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => !ReporterOf(later).IsRunning, "the silo whose pod was deleted to stop setting its cost", describe: Describe);
        var last = api.Requests.Last(r => r.Path == api.PodPath(deleted));
        Assert.Equal(("PATCH", 404, Idle), (last.Method, last.Status, CostOf(last).ToString()));
        Assert.Single(api.Requests, r => r.Path == api.PodPath(missing));

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    /// <summary>The pod name a test silo gets, as Kubernetes hosting names a silo after its pod.</summary>
    private static string PodOf(string siloName) => "orleansllm-" + siloName.ToLowerInvariant().Replace('_', '-');

    private static PodDeletionCostReporter ReporterOf(InProcessSiloHandle silo) =>
        silo.SiloHost.Services.GetRequiredService<PodDeletionCostReporter>();

    /// <summary>The costs written to a pod, in order, that the API accepted.</summary>
    private static string[] Written(FakeKubernetesApi api, string pod) =>
        [.. api.Patches.Where(p => p.Path == api.PodPath(pod) && p.Status == 200).Select(p => CostOf(p).ToString())];

    private async Task<LlmCluster> StartClusterAsync(
        FakeKubernetesApi api, int silos, Func<string, bool>? hasPod = null, Func<string, string?>? annotate = null,
        TimeSpan? idleAfter = null, bool heldOllama = true)
    {
        var kubeconfig = api.WriteKubeConfig();
        return await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = silos;
            o.Simulator = heldOllama ? HeldOllama : _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.05 };
            o.Settings["Kubernetes:ConfigFile"] = kubeconfig;
            o.Settings["Kubernetes:Namespace"] = api.Namespace;
            o.Settings["Kubernetes:PodDeletionCostInterval"] = "00:00:00.100";
            o.Settings["Kubernetes:PodDeletionCostIdleAfter"] = (idleAfter ?? TimeSpan.FromSeconds(1)).ToString("c");
            o.Settings["Worker:HeartbeatInterval"] = "00:00:00.200";
            o.ConfigureSilo = (siloOptions, silo) =>
            {
                var pod = PodOf(siloOptions.SiloName);
                if (hasPod?.Invoke(pod) ?? true)
                {
                    var cost = annotate?.Invoke(pod);
                    api.AddPod(pod, annotations: cost is null ? null : new Dictionary<string, string> { [Annotation] = cost });
                }

                silo.AddKubernetesPodDeletionCost();
                silo.Services.PostConfigure<SiloOptions>(s => s.SiloName = pod);
            };
        });
    }

    /// <summary>Every patch is the JSON merge patch Kubernetes accepts for one annotation, sent with its token to a known pod.</summary>
    internal static void AssertValidCostPatches(FakeKubernetesApi api, IEnumerable<string> pods, IEnumerable<ApiRequest>? patches = null)
    {
        var paths = pods.Select(api.PodPath).ToHashSet();
        var all = (patches ?? api.Patches).ToArray();
        Assert.NotEmpty(all);
        foreach (var patch in all)
        {
            Assert.Contains(patch.Path, paths);
            Assert.Equal("application/merge-patch+json", patch.ContentType?.Split(';')[0]);
            Assert.Equal($"Bearer {api.Token}", patch.Authorization);
            using var body = JsonDocument.Parse(patch.Body);
            var metadata = Assert.Single(body.RootElement.EnumerateObject());
            Assert.Equal("metadata", metadata.Name);
            var annotations = Assert.Single(metadata.Value.EnumerateObject());
            Assert.Equal("annotations", annotations.Name);
            var cost = Assert.Single(annotations.Value.EnumerateObject());
            Assert.Equal(Annotation, cost.Name);
            Assert.Equal(JsonValueKind.String, cost.Value.ValueKind);
            Assert.Contains(cost.Value.GetString(), Enum.GetValues<PodDeletionCostBucket>().Select(b => ((int)b).ToString()));
            Assert.NotEqual(415, patch.Status);
            Assert.NotEqual(422, patch.Status);
        }
    }

    internal static int CostOf(ApiRequest patch)
    {
        using var body = JsonDocument.Parse(patch.Body);
        return int.Parse(body.RootElement.GetProperty("metadata").GetProperty("annotations").GetProperty(Annotation).GetString()!);
    }

    private static async Task<string> DescribeAsync(FakeKubernetesApi api, LlmCluster cluster) =>
        $"{await cluster.DescribeQueueAsync()}; API: {api.Describe()}";
}
