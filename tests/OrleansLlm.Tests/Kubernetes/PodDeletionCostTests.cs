using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using Orleans.Configuration;
using OrleansLlm.Kubernetes;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Kubernetes;

/// <summary>
/// The coordinator keeps each pod's deletion cost equal to its silo's leases, through the real KubernetesClient
/// against a fake API server over HTTP, in a real cluster whose silos are named like pods (as Kubernetes hosting
/// names them).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class PodDeletionCostTests(RedisServer redis)
{
    private const string Namespace = "llm-test";
    private const string Annotation = FakeKubernetesApi.DeletionCostAnnotation;

    // Requests make no progress until the test sets the simulator's speed back to 1, so leases hold still.
    private static SimulatorOptions HeldOllama(int _) => new() { Parallel = 2, TimeScale = 0.05, Speed = 1e-6 };

    [Fact]
    public async Task InFlightWork_EachPodCostIsItsSilosLeases_BackToZeroWhenDone()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        // The API server fails the first patches: they are tried again on the next round.
        api.FailNextPatches(2);
        await using var cluster = await StartClusterAsync(api, silos: 2);
        var pods = cluster.Cluster.Silos.ToDictionary(s => s, s => PodOf(s.Name));

        // A fresh coordinator does not know what was written before, so it writes every pod's cost, idle ones too.
        await Eventually.TrueAsync(() => pods.Values.All(p => api.Annotation(p, Annotation) == "0"), "every idle pod to cost 0", describe: Describe);
        Assert.Equal(2, api.Patches.Count(p => p.Status == 500));

        var cities = await Cities.LoadAsync(3);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () =>
        {
            if (await cluster.Db.HashLengthAsync(cluster.Keys.InFlight) != 3)
            {
                return false;
            }

            foreach (var (silo, pod) in pods)
            {
                if (api.Annotation(pod, Annotation) != (await cluster.LeasesOfAsync(silo)).Length.ToString())
                {
                    return false;
                }
            }

            return true;
        }, "each pod's cost to equal its silo's leases, 3 in all", describe: Describe);
        Assert.Equal(3, pods.Values.Sum(p => int.Parse(api.Annotation(p, Annotation)!)));

        foreach (var simulator in cluster.Simulators)
        {
            simulator.SetSpeed(1);
        }

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 3, "3 results", describe: cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => pods.Values.All(p => api.Annotation(p, Annotation) == "0"), "every pod to cost 0 again", describe: Describe);

        AssertValidCostPatches(api, pods.Values);
        foreach (var pod in pods.Values)
        {
            // Patched only when the cost changed: no two successive writes to a pod carry the same cost.
            var costs = api.Patches.Where(p => p.Path == api.PodPath(pod) && p.Status == 200).Select(CostOf).ToArray();
            Assert.All(costs.Zip(costs.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
        }

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    [Fact]
    public async Task DeadSilo_ItsPodIsNeverPatchedAgain_SurvivorsCostsFollowTheirWork()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        await using var cluster = await StartClusterAsync(api, silos: 2);
        var view = await cluster.Coordinator.GetClusterAsync();
        var victim = cluster.Cluster.Silos.Single(s => cluster.OwnerOf(s) != view.CoordinatorSilo);
        var survivor = cluster.Cluster.Silos.Single(s => cluster.OwnerOf(s) == view.CoordinatorSilo);
        var (victimPod, survivorPod) = (PodOf(victim.Name), PodOf(survivor.Name));

        var cities = await Cities.LoadAsync(4);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(() => api.Annotation(victimPod, Annotation) == "2" && api.Annotation(survivorPod, Annotation) == "2",
            "both pods to cost 2", describe: Describe);

        var killedAt = DateTimeOffset.UtcNow;
        await cluster.Cluster.KillSiloAsync(victim);
        cluster.SimulatorOf(survivor).SetSpeed(1);

        // The victim's two items come back once membership declares it dead, and the survivor does all four.
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 4, "4 results", describe: cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => api.Annotation(survivorPod, Annotation) == "0", "the survivor's pod to cost 0 again", describe: Describe);

        var afterKill = api.Patches.Where(p => p.At > killedAt).ToArray();
        Assert.DoesNotContain(afterKill, p => p.Path == api.PodPath(victimPod));
        Assert.Contains(afterKill, p => p.Path == api.PodPath(survivorPod));
        Assert.Equal("2", api.Annotation(victimPod, Annotation));
        AssertValidCostPatches(api, [victimPod, survivorPod]);

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    [Fact]
    public async Task PodNotFound_NotRetriedEveryRound_OtherPodsStillPatched()
    {
        await using var api = await FakeKubernetesApi.StartAsync(Namespace);
        // Only the first silo configured has a pod; the other's name is no pod's name (as if silo names were not pod names).
        var named = new List<string>();
        await using var cluster = await StartClusterAsync(api, silos: 2, hasPod: pod =>
        {
            lock (named)
            {
                named.Add(pod);
                return named.Count == 1;
            }
        });
        var (present, missing) = (named[0], named[1]);

        await Eventually.TrueAsync(() => api.Annotation(present, Annotation) == "0", "the existing pod to cost 0", describe: Describe);
        await Eventually.TrueAsync(() => api.Patches.Any(p => p.Path == api.PodPath(missing)), "the missing pod to be tried", describe: Describe);

        // Many rounds (200 ms each) later, the missing pod was asked for once: a 404 is remembered, not retried.
        var cities = await Cities.LoadAsync(2);
        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(async () => await cluster.Db.HashLengthAsync(cluster.Keys.InFlight) == 2, "2 items in flight");
        foreach (var simulator in cluster.Simulators)
        {
            simulator.SetSpeed(1);
        }

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 2, "2 results", describe: cluster.DescribeQueueAsync);
        await Eventually.TrueAsync(() => api.Annotation(present, Annotation) == "0", "the existing pod to cost 0 again", describe: Describe);
        var missingPatches = api.Patches.Where(p => p.Path == api.PodPath(missing)).ToArray();
        Assert.All(missingPatches, p => Assert.Equal(404, p.Status));
        // Once at 0, and once for each different cost it held on the way (at most 1 and 2).
        Assert.InRange(missingPatches.Length, 1, 4);

        Task<string> Describe() => DescribeAsync(api, cluster);
    }

    /// <summary>The pod name a test silo gets, as Kubernetes hosting names a silo after its pod.</summary>
    private static string PodOf(string siloName) => "orleansllm-" + siloName.ToLowerInvariant().Replace('_', '-');

    private async Task<LlmCluster> StartClusterAsync(FakeKubernetesApi api, int silos, Func<string, bool>? hasPod = null)
    {
        var kubeconfig = api.WriteKubeConfig();
        return await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = silos;
            o.Simulator = HeldOllama;
            o.Settings["Kubernetes:ConfigFile"] = kubeconfig;
            o.Settings["Kubernetes:Namespace"] = api.Namespace;
            o.Settings["Kubernetes:PodDeletionCostInterval"] = "00:00:00.200";
            o.ConfigureSilo = (siloOptions, silo) =>
            {
                if (hasPod?.Invoke(PodOf(siloOptions.SiloName)) ?? true)
                {
                    api.AddPod(PodOf(siloOptions.SiloName));
                }

                silo.AddKubernetesPodDeletionCost();
                silo.Services.PostConfigure<SiloOptions>(s => s.SiloName = PodOf(siloOptions.SiloName));
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
            Assert.True(int.TryParse(cost.Value.GetString(), out var value) && value >= 0, $"cost '{cost.Value}' is not a count");
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
