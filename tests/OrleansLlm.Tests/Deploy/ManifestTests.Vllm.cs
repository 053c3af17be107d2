using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;
using OrleansLlm.Options;
using OrleansLlm.Queue;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// What is the vllm overlay's own (deploy/components/vllm): vLLM, pinned, as the native sidecar on one GPU, probed on
/// /health, the silo on the OpenAI-compatible backend with vLLM's API key, and KEDA's optional trigger on the requests
/// waiting inside vLLM (deploy/components/keda-vllm-waiting). The checks every overlay passes run on it through
/// <see cref="Overlays"/>, <see cref="PodSources"/> and the network and Pod Security theories.
/// </summary>
public sealed partial class ManifestTests
{
    /// <summary>The vllm overlay with deploy/monitoring and deploy/components/keda-vllm-waiting.</summary>
    public const string VllmMonitoringOverlay = "overlays/vllm-monitoring";

    private const string VllmImage = "vllm/vllm-openai:v0.31.0";

    private const string VllmModel = "Qwen/Qwen2-1.5B-Instruct";

    [SkippableFact]
    public async Task VllmOverlay_RunsThePinnedVllmAsTheNativeSidecar_OnOneGpu_ProbedOnHealth()
    {
        var m = await RenderedManifests.RenderAsync(VllmOverlay);
        var vllm = m.VllmSidecar;
        var env = PodEnvironment(m, vllm);

        // vLLM instead of Ollama: no pull-model, no ollama; a native sidecar, started before the silo.
        Assert.Equal(["vllm"], m.SiloPod.InitContainers.Select(c => c.Name));
        Assert.Equal("Always", vllm.RestartPolicy);
        Assert.DoesNotContain(m.SiloPod.InitContainers.Concat(m.SiloPod.Containers), c => c.Image.StartsWith("ollama/", StringComparison.Ordinal));
        Assert.DoesNotContain(m.SiloPod.Volumes, v => v.Name == "ollama-tmp");

        // Pinned by tag, through deploy/images.
        Assert.Equal(VllmImage, vllm.Image);
        Assert.Contains($"- name: vllm/vllm-openai\n    newTag: \"{VllmImage.Split(':')[1]}\"", await File.ReadAllTextAsync(Path.Combine(RepoRoot, "deploy", "images", "kustomization.yaml")), StringComparison.Ordinal);

        // The model is the positional argument of the image's `vllm serve`, from the ConfigMap the silo reads too.
        Assert.Equal("$(MODEL)", vllm.Args[0]);
        Assert.Equal(VllmModel, env["MODEL"]);
        Assert.DoesNotContain("--model", vllm.Args);
        Assert.Equal(["--port", VllmPort(m).ToString(CultureInfo.InvariantCulture)], vllm.Args.Skip(1));

        // One GPU, asked and limited alike, and the toleration of tainted GPU pools; no node label needed.
        Assert.Equal(1m, vllm.Resources.Limits["nvidia.com/gpu"].ToDecimal());
        Assert.Equal(1m, vllm.Resources.Requests["nvidia.com/gpu"].ToDecimal());
        Assert.Contains(m.SiloPod.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");
        Assert.Null(m.SiloPod.NodeSelector);
        Assert.Equal(("0", "1"), (m.SiloDeployment.Spec.Strategy.RollingUpdate.MaxSurge.Value, m.SiloDeployment.Spec.Strategy.RollingUpdate.MaxUnavailable.Value));

        // /health on vLLM's port: ready, alive, and started only once the model is downloaded and loaded, which gets
        // at least 10 minutes. No preStop, and a probe's own short grace, so a dead engine restarts quickly.
        foreach (var probe in (V1Probe[])[vllm.StartupProbe, vllm.ReadinessProbe, vllm.LivenessProbe])
        {
            Assert.Equal(("/health", "vllm"), (probe.HttpGet.Path, probe.HttpGet.Port.Value));
        }

        Assert.True((vllm.StartupProbe.PeriodSeconds ?? 10) * (vllm.StartupProbe.FailureThreshold ?? 3) >= 600, "the startup probe leaves less than 10 minutes for the model's download");
        Assert.InRange(vllm.LivenessProbe.TerminationGracePeriodSeconds ?? long.MaxValue, 1, 30);
        Assert.Null(vllm.Lifecycle);

        // The Hugging Face cache (the model cache) and HOME on emptyDirs of their own, /dev/shm in memory (PyTorch's
        // shared memory between processes).
        Assert.Equal("models", MountOf(m.SiloPod, vllm, env["HF_HOME"]));
        Assert.NotEqual(MountOf(m.SiloPod, vllm, env["HOME"]), MountOf(m.SiloPod, vllm, env["HF_HOME"]));
        Assert.All((string[])[env["HF_HOME"], env["HOME"]], path => Assert.NotNull(m.SiloPod.Volumes.Single(v => v.Name == MountOf(m.SiloPod, vllm, path)).EmptyDir));
        Assert.Equal("Memory", m.SiloPod.Volumes.Single(v => v.Name == MountOf(m.SiloPod, vllm, "/dev/shm")).EmptyDir.Medium);

        // The image's default user is root: the container runs as the image's own user vllm (UID 2000) instead.
        Assert.Equal(2000, vllm.SecurityContext.RunAsUser);

        // The API key from the Secret made of deploy/secrets/vllm/vllm.env; the Hugging Face token optional, and
        // absent here: the default model is public.
        Assert.Equal(Kustomize.VllmApiKey, env["VLLM_API_KEY"]);
        var token = vllm.Env.Single(e => e.Name == "HF_TOKEN").ValueFrom.SecretKeyRef;
        Assert.True(token.Optional, "HF_TOKEN must be optional, so public models work without a token");
        Assert.Equal(vllm.Env.Single(e => e.Name == "VLLM_API_KEY").ValueFrom.SecretKeyRef.Name, token.Name);
        Assert.False(env.ContainsKey("HF_TOKEN"));
        Assert.Equal("1", env["VLLM_NO_USAGE_STATS"]);
    }

    /// <summary>
    /// The vLLM overlay's exception to "the inference server listens on loopback only": vLLM listens on the pod's
    /// addresses (no --host: its default binds every IPv4 address), for the kubelet's HTTP probes and Prometheus.
    /// What closes the port instead is checked here (the API key on /v1) and in NetworkPolicyTests (nobody may connect
    /// to 8001; Prometheus alone with vllm-monitoring).
    /// </summary>
    private static void AssertTheSiloCallsItsOwnPodsVllm(RenderedManifests m, IReadOnlyDictionary<string, string> silo)
    {
        var vllm = PodEnvironment(m, m.VllmSidecar);
        Assert.Equal("OpenAi", silo["Backend__Kind"]);

        // The vLLM of its own pod, by loopback address: vLLM binds IPv4 only, so "localhost" would try ::1 first.
        var url = new Uri(silo["Backend__Url"]);
        Assert.Equal(("http", VllmPort(m)), (url.Scheme, url.Port));
        Assert.True(System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(url.Host)), $"{url} is not the pod's loopback");
        Assert.DoesNotContain(m.VllmSidecar.Args, a => a.StartsWith("--host", StringComparison.Ordinal));

        // The model vLLM serves (its name is the model's: no --served-model-name), and vLLM's own API key.
        Assert.Equal(vllm["MODEL"], silo["Backend__Model"]);
        Assert.DoesNotContain("--served-model-name", m.VllmSidecar.Args);
        Assert.Equal(vllm["VLLM_API_KEY"], silo["Backend__ApiKey"]);

        // Its own port, apart from every port of the silo, the OpenAI Batch API's 8000 (deploy/components/api) included.
        var siloPorts = m.SiloContainer.Ports.Select(p => p.ContainerPort).Append(8000).ToArray();
        Assert.DoesNotContain(VllmPort(m), siloPorts);
    }

    [SkippableFact]
    public async Task KedaVllmWaiting_AddsAPrometheusTriggerOnVllmsWaitingRequests_ToTheFormula()
    {
        var m = await RenderedManifests.RenderAsync(VllmMonitoringOverlay);
        var scaled = m.Single<ScaledObject>("orleansllm-silo");
        var modifiers = scaled.Spec.Advanced!.ScalingModifiers!;
        var target = double.Parse(modifiers.Target!, CultureInfo.InvariantCulture);

        // The redis triggers stay as the vllm overlay has them, one per key of outstanding work.
        var redis = scaled.Spec.Triggers.Where(t => t.Type == "redis").ToArray();
        var queue = Bind<QueueOptions>(SiloConfiguration(m), QueueOptions.Section);
        Assert.Equal(new QueueKeys(queue.Name).Outstanding.Order(), redis.Select(t => t.Metadata["listName"]).Order());
        Assert.All(redis, t => Assert.Equal(target, double.Parse(t.Metadata["listLength"], CultureInfo.InvariantCulture)));

        // One prometheus trigger: every vLLM of this namespace's silo pods, summed, from the scraped sidecar.
        var waiting = Assert.Single(scaled.Spec.Triggers, t => t.Type == "prometheus");
        var ns = m.SiloDeployment.Metadata.NamespaceProperty;
        Assert.Equal($"sum(vllm:num_requests_waiting{{namespace=\"{ns}\",container=\"{m.VllmSidecar.Name}\"}})", waiting.Metadata["query"]);
        Assert.Matches(@"^http://[a-z0-9-]+\.[a-z0-9-]+\.svc:9090$", waiting.Metadata["serverAddress"]);
        var perReplica = double.Parse(waiting.Metadata["threshold"], CultureInfo.InvariantCulture);
        Assert.True(perReplica > 0);
        Assert.False(waiting.Metadata.ContainsKey("ignoreNullValues"), "no vLLM series yet must read as 0 (KEDA's default), not fail the ScaledObject");

        // The formula: the larger of the outstanding items and the waiting requests weighed so that `threshold`
        // of them ask for one replica, as `target` outstanding items do.
        var formula = Regex.Match(modifiers.Formula!, @"^max\((?<sum>[a-z +]+), (?<name>[a-z]+) \* (?<weight>\d+(\.\d+)?)\)$");
        Assert.True(formula.Success, $"formula '{modifiers.Formula}' is not max(<redis triggers summed>, waiting * weight)");
        Assert.Equal(redis.Select(t => t.Name!).Order(), formula.Groups["sum"].Value.Split('+', StringSplitOptions.TrimEntries).Order());
        Assert.Equal(waiting.Name, formula.Groups["name"].Value);
        Assert.Equal(target, double.Parse(formula.Groups["weight"].Value, CultureInfo.InvariantCulture) * perReplica);

        // What the trigger reads is scraped: a PodMonitor on the vllm sidecar's port of the silo pods.
        var monitor = m.Single<PodMonitor>("orleansllm-vllm");
        AssertSelects(monitor.Spec.Selector.MatchLabels, m.SiloDeployment.Spec.Template.Metadata.Labels);
        var endpoint = Assert.Single(monitor.Spec.PodMetricsEndpoints);
        Assert.Equal(("vllm", "/metrics"), (endpoint.Port, endpoint.Path));
        Assert.Equal(VllmPort(m), Assert.Single(m.VllmSidecar.Ports, p => p.Name == endpoint.Port).ContainerPort);
    }

    private static int VllmPort(RenderedManifests m) => m.VllmSidecar.Ports.Single(p => p.Name == "vllm").ContainerPort;
}
