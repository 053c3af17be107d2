using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// What a production cluster asks of the manifests beyond passing validation: no password anyone else knows, rollouts
/// that fit a full GPU pool, Guaranteed CPU for Ollama, nodes the autoscaler may remove, silos spread over nodes and
/// zones, Redis scheduled first, the recommended labels, exact image versions, a StorageClass for EKS, and the silo
/// patching nothing but its own pod's deletion cost.
/// </summary>
public sealed partial class ManifestTests
{
    private static readonly string[] OwnPasswordFiles = ["redis-silo.env", "redis-client.env", "redis-keda.env"];

    [SkippableFact]
    public async Task NoSecret_HoldsAKnownPassword_ApplyingWithoutThePasswordFiles_FailsNamingTheFile()
    {
        // Every Secret the manifests make holds what the user made (the tests' random passwords) or says no secret.
        foreach (var source in (string[])["overlays/cpu", "overlays/gpu", VllmOverlay, VllmMonitoringOverlay, "overlays/cpu-cert-manager", "overlays/cpu-monitoring", "overlays/cpu-api", "jobs/submit-cities", "jobs/results"])
        {
            var m = await RenderedManifests.RenderAsync(source);
            foreach (var secret in m.All<V1Secret>())
            {
                foreach (var (key, value) in secret.Data)
                {
                    var text = System.Text.Encoding.UTF8.GetString(value);
                    var made = key == "password" ? Kustomize.RedisPasswords.Values.Contains(text)
                        : key.StartsWith("Api__Keys__", StringComparison.Ordinal) ? Kustomize.OwnFiles["secrets/api-keys/api-keys.env"].Split('\n').Contains($"{key}={text}")
                        : key == "api-key" ? text == Kustomize.VllmApiKey
                        : (key, text) is ("username", "keda") or ("tls", "enable");
                    Assert.True(made,
                        $"{source}: Secret {secret.Metadata.Name} key {key} holds a value committed in the repository");
                }
            }
        }

        // No kustomization of the repository generates a password from a literal.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoRoot, "deploy"), "kustomization.yaml", SearchOption.AllDirectories))
        {
            Assert.DoesNotMatch(new Regex(@"-\s*password\s*=", RegexOptions.IgnoreCase), await File.ReadAllTextAsync(file));
        }

        // Without the files a user makes first, the apply stops before it sends anything, naming the file.
        var dir = Directory.CreateTempSubdirectory("orleansllm-no-passwords-").FullName;
        try
        {
            var copy = Path.Combine(dir, "deploy");
            foreach (var file in Directory.EnumerateFiles(Kustomize.DeployRoot, "*", SearchOption.AllDirectories).Where(f => !OwnPasswordFiles.Contains(Path.GetFileName(f))))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(Kustomize.DeployRoot, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            foreach (var overlay in (string[])["overlays/cpu", "overlays/gpu", VllmOverlay])
            {
                var run = await ProcessRunner.RunAsync(Environment.GetEnvironmentVariable("KUBECTL") ?? "kubectl", ["kustomize", Path.Combine(copy, overlay)]);
                Assert.NotEqual(0, run.ExitCode);
                Assert.Contains("deploy/secrets/redis-", run.Stderr, StringComparison.Ordinal);
                Assert.Contains(".env: no such file or directory", run.Stderr, StringComparison.Ordinal);
            }

            // With the Redis passwords but without vLLM's file, the vllm overlay stops naming that one.
            foreach (var file in OwnPasswordFiles)
            {
                await File.WriteAllTextAsync(Path.Combine(copy, "secrets", file), Kustomize.OwnFiles[$"secrets/{file}"]);
            }

            File.Delete(Path.Combine(copy, "secrets", "vllm", "vllm.env"));
            var vllm = await ProcessRunner.RunAsync(Environment.GetEnvironmentVariable("KUBECTL") ?? "kubectl", ["kustomize", Path.Combine(copy, VllmOverlay)]);
            Assert.NotEqual(0, vllm.ExitCode);
            Assert.Contains("deploy/secrets/vllm/vllm.env: no such file or directory", vllm.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string RepoRoot => Kustomize.RepoRoot;

    [SkippableFact]
    public async Task GpuRollout_TakesAPodDownFirst_CpuRollout_BringsOneUpFirst()
    {
        var gpu = (await RenderedManifests.RenderAsync("overlays/gpu")).SiloDeployment.Spec.Strategy.RollingUpdate;
        var cpu = (await RenderedManifests.RenderAsync("overlays/cpu")).SiloDeployment.Spec.Strategy.RollingUpdate;
        var vllm = (await RenderedManifests.RenderAsync(VllmOverlay)).SiloDeployment.Spec.Strategy.RollingUpdate;

        // A full GPU pool has no room for a surge pod: the rollout would wait for ever.
        Assert.Equal(("0", "1"), (gpu.MaxSurge.Value, gpu.MaxUnavailable.Value));
        Assert.Equal(("0", "1"), (vllm.MaxSurge.Value, vllm.MaxUnavailable.Value));
        Assert.Equal(("1", "0"), (cpu.MaxSurge.Value, cpu.MaxUnavailable.Value));
    }

    [SkippableFact]
    public async Task CpuOverlay_SiloPodIsGuaranteed_OllamaGetsWholeCpusEqualToItsThreads()
    {
        var m = await RenderedManifests.RenderAsync("overlays/cpu");
        Assert.Equal("Guaranteed", QosClass(m.SiloPod));
        var ollama = m.OllamaSidecar.Resources;
        Assert.Equal(ollama.Limits["cpu"].ToDecimal(), ollama.Requests["cpu"].ToDecimal());
        Assert.Equal((int)ollama.Requests["cpu"].ToDecimal(), int.Parse(SiloEnvironment(m)["Ollama__NumThreads"], CultureInfo.InvariantCulture));

        // The rule the QoS check applies is Kubernetes': without equal requests and limits the gpu pod is Burstable.
        Assert.Equal("Burstable", QosClass((await RenderedManifests.RenderAsync("overlays/gpu")).SiloPod));
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task SiloPods_MayBeEvictedWithTheirEmptyDirs_SpreadOverNodesAndZones(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var template = m.SiloDeployment.Spec.Template;

        // The cluster autoscaler keeps a node whose pod has a local volume it was not told about.
        var emptyDirs = m.SiloPod.Volumes.Where(v => v.EmptyDir is not null).Select(v => v.Name).Order();
        var annotated = template.Metadata.Annotations["cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"].Split(',').Order();
        Assert.Equal(emptyDirs, annotated);

        var spread = m.SiloPod.TopologySpreadConstraints;
        Assert.Equal(["kubernetes.io/hostname", "topology.kubernetes.io/zone"], spread.Select(c => c.TopologyKey).Order());
        Assert.All(spread, c =>
        {
            AssertSelects(c.LabelSelector.MatchLabels, template.Metadata.Labels);
            Assert.Equal("ScheduleAnyway", c.WhenUnsatisfiable);
            Assert.Equal(1, c.MaxSkew);
        });
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task Redis_IsScheduledBeforeEveryOtherPod(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var redis = m.Single<V1Deployment>("orleansllm-redis").Spec.Template.Spec;
        var priority = m.Single<V1PriorityClass>(redis.PriorityClassName);
        Assert.InRange(priority.Value ?? 0, 1, 999_999_999); // above pods without a class (0), below the system's own
        Assert.NotEqual(true, priority.GlobalDefault);
        Assert.All(m.All<V1Deployment>().Where(d => d.Metadata.Name != "orleansllm-redis"), d => Assert.Null(d.Spec.Template.Spec.PriorityClassName));
    }

    [SkippableTheory]
    [MemberData(nameof(PodSources))]
    public async Task EveryObjectAndPod_CarriesTheRecommendedLabels_ImagesAreExactVersions(string source)
    {
        var images = await RenderedManifests.RenderAsync("overlays/cpu");
        var version = images.SiloContainer.Image.Split(':')[^1];
        if (source != PodSecurityTests.CliSource)
        {
            var m = await RenderedManifests.RenderAsync(source);
            foreach (var o in m.All<IMetadata<V1ObjectMeta>>())
            {
                var labels = o.Metadata.Labels ?? new Dictionary<string, string>();
                Assert.True(labels.TryGetValue("app.kubernetes.io/part-of", out var partOf) && partOf == "orleansllm", $"{source} {o.GetType().Name}/{o.Metadata.Name}: no part-of label");
                Assert.True(labels.TryGetValue("app.kubernetes.io/version", out var v) && v == version, $"{source} {o.GetType().Name}/{o.Metadata.Name}: version label {v ?? "(none)"}, not the images' {version}");
            }
        }

        foreach (var pod in await PodSecurityTests.PodsOfAsync(source))
        {
            foreach (var label in (string[])["app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of"])
            {
                Assert.True(pod.Metadata.Labels?.ContainsKey(label) == true, $"{pod.Source}: the pods carry no {label}");
            }

            if (source != PodSecurityTests.CliSource)
            {
                Assert.Equal(version, pod.Metadata.Labels!["app.kubernetes.io/version"]);
            }

            foreach (var container in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
            {
                // vLLM's release tags carry a leading v (v0.31.0); every other image's do not.
                Assert.Matches(container.Image.StartsWith("vllm/", StringComparison.Ordinal) ? @":v\d+\.\d+\.\d+$" : @":\d+\.\d+\.\d+(-[a-z0-9.]+)?$", container.Image);
            }
        }
    }

    [SkippableFact]
    public async Task EksStorage_GivesRedisVolumeAStorageClassThatExists()
    {
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync("""
            resources:
              - ../cpu
            components:
              - ../../components/eks-storage
            """));
        var claim = m.Single<V1PersistentVolumeClaim>("orleansllm-redis");
        var storageClass = m.Single<V1StorageClass>(claim.Spec.StorageClassName);
        Assert.Equal("ebs.csi.aws.com", storageClass.Provisioner);
        Assert.Equal("WaitForFirstConsumer", storageClass.VolumeBindingMode);
        Assert.Null((await RenderedManifests.RenderAsync("overlays/cpu")).Single<V1PersistentVolumeClaim>("orleansllm-redis").Spec.StorageClassName);
    }

    [SkippableFact]
    public async Task AdmissionPolicy_LetsTheSiloPatchOnlyItsOwnPodsDeletionCost()
    {
        var m = await RenderedManifests.RenderAsync("overlays/cpu");
        var policy = Assert.Single(m.All<V1ValidatingAdmissionPolicy>());
        var binding = Assert.Single(m.All<V1ValidatingAdmissionPolicyBinding>());
        Assert.Equal(policy.Metadata.Name, binding.Spec.PolicyName);
        Assert.Equal(["Deny"], binding.Spec.ValidationActions);
        Assert.Equal("Fail", policy.Spec.FailurePolicy);

        // Every pod update of the silos' ServiceAccount, in the silos' namespace (which the binding selects).
        var rule = Assert.Single(policy.Spec.MatchConstraints.ResourceRules);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["UPDATE"], rule.Operations);
        var ns = Assert.Single(m.All<V1Namespace>());
        Assert.True(NetworkPolicyEvaluator.Matches(binding.Spec.MatchResources?.NamespaceSelector, ns.Metadata.Labels), "the binding does not select the silos' namespace");
        var who = Assert.Single(policy.Spec.MatchConditions).Expression;
        Assert.Contains($"':{m.SiloPod.ServiceAccountName}'", who, StringComparison.Ordinal);
        Assert.Contains("request.namespace", who, StringComparison.Ordinal);

        // The pod of the token's pod-name claim, and nothing changed but the cost annotation.
        var checks = string.Join("\n", policy.Spec.Validations.Select(v => v.Expression));
        Assert.Contains("request.userInfo.extra['authentication.kubernetes.io/pod-name'] == [object.metadata.name]", checks, StringComparison.Ordinal);
        Assert.Contains("object.spec == oldObject.spec", checks, StringComparison.Ordinal);
        Assert.Contains("object.metadata.labels", checks, StringComparison.Ordinal);
        Assert.Equal("'controller.kubernetes.io/pod-deletion-cost'", policy.Spec.Variables.Single(v => v.Name == "cost").Expression);

        // The RBAC it narrows: the silo's token is one with the pod-name claim (a projected service account token).
        Assert.Contains(m.SiloPod.Volumes, v => v.Projected?.Sources?.Any(s => s.ServiceAccountToken is not null) == true);
    }

    /// <summary>A pod's QoS class, by Kubernetes' rule: Guaranteed when every container's requests equal its limits for CPU and memory.</summary>
    private static string QosClass(V1PodSpec pod)
    {
        var containers = pod.Containers.Concat(pod.InitContainers ?? []).ToArray();
        bool Set(V1Container c, string resource) => c.Resources?.Limits?.ContainsKey(resource) == true || c.Resources?.Requests?.ContainsKey(resource) == true;
        if (!containers.Any(c => Set(c, "cpu") || Set(c, "memory")))
        {
            return "BestEffort";
        }

        return containers.All(c => ((string[])["cpu", "memory"]).All(r =>
                c.Resources?.Limits?.TryGetValue(r, out var limit) == true
                && (c.Resources.Requests?.TryGetValue(r, out var request) != true || request!.ToDecimal() == limit!.ToDecimal())))
            ? "Guaranteed"
            : "Burstable";
    }
}
