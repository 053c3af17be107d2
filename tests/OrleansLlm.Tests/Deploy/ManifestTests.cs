using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OrleansLlm.Client;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// Checks the rendered kustomize overlays against the silo's real configuration: its appsettings.json, its options
/// classes and validators, the queue's Redis key names and the CLI's parser. No cluster is needed, only kubectl.
/// </summary>
[Trait("Category", "Deploy")]
public sealed partial class ManifestTests
{
    /// <summary>The vLLM overlay: vLLM instead of Ollama as the pod's inference server (deploy/components/vllm).</summary>
    public const string VllmOverlay = "overlays/vllm";

    public static TheoryData<string> Overlays => new() { "overlays/cpu", "overlays/gpu", VllmOverlay };

    /// <summary>The overlays whose pods run Ollama (pull-model and the ollama sidecar).</summary>
    public static TheoryData<string> OllamaOverlays => new() { "overlays/cpu", "overlays/gpu" };

    public static TheoryData<string> PodSources => PodSecurityTests.Sources;

    private static readonly string[] RequiredSiloSettings =
    [
        "Redis__ConnectionString", "Queue__Name", "Worker__DrainTimeout",
        "POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_CLUSTER_ID", "ORLEANS_SERVICE_ID",
        "Orleans__ClusterId", "Orleans__ServiceId", "Kubernetes__PodDeletionCost",
    ];

    // The backend's settings: Ollama's (the default backend), or the OpenAI-compatible one's (section Backend) for vLLM.
    private static readonly string[] OllamaSettings = ["Ollama__Url", "Ollama__Model", "Ollama__NumThreads"];

    private static readonly string[] OpenAiBackendSettings = ["Backend__Kind", "Backend__Url", "Backend__Model", "Backend__ApiKey"];

    // The silo's host waits DrainTimeout plus this for the rest of the silo to stop (SiloHostingExtensions).
    private static readonly TimeSpan SiloShutdownMargin = TimeSpan.FromSeconds(15);

    // Time left after the silo's shutdown for the ollama sidecar to stop before the kubelet kills the pod.
    private static readonly TimeSpan SidecarStopMargin = TimeSpan.FromSeconds(30);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_RendersEveryObjectIntoATypedModel(string overlay)
    {
        var manifests = await RenderedManifests.RenderAsync(overlay);

        var kinds = manifests.Objects.Select(o => o.GetType().Name).Order().ToArray();
        string[] expected =
        [
            "ScaledObject", "TriggerAuthentication", nameof(V1ConfigMap), nameof(V1ConfigMap), nameof(V1Deployment), nameof(V1Deployment),
            nameof(V1Namespace), nameof(V1NetworkPolicy), nameof(V1NetworkPolicy), nameof(V1NetworkPolicy),
            nameof(V1PersistentVolumeClaim), nameof(V1PodDisruptionBudget), nameof(V1PriorityClass), nameof(V1Role), nameof(V1RoleBinding),
            nameof(V1Secret), nameof(V1Secret), nameof(V1Secret), nameof(V1Service), nameof(V1ServiceAccount),
            nameof(V1ValidatingAdmissionPolicy), nameof(V1ValidatingAdmissionPolicyBinding),
            // vLLM's API key and optional Hugging Face token (deploy/secrets/vllm).
            .. overlay == VllmOverlay ? [nameof(V1Secret)] : Array.Empty<string>(),
        ];
        Assert.Equal(expected.Order(), kinds);
        Assert.All(manifests.All<IMetadata<V1ObjectMeta>>().Where(o => !ClusterScoped(o)),
            o => Assert.Equal("orleansllm", o.Metadata.NamespaceProperty));
        Assert.All(manifests.All<IMetadata<V1ObjectMeta>>().Where(ClusterScoped), o => Assert.Null(o.Metadata.NamespaceProperty));
    }

    /// <summary>Objects Kubernetes keeps outside any namespace.</summary>
    internal static bool ClusterScoped(object o) =>
        o is V1Namespace or V1PriorityClass or V1ValidatingAdmissionPolicy or V1ValidatingAdmissionPolicyBinding or V1StorageClass;

    [SkippableFact]
    public async Task StrictParsing_RejectsAnUnknownField()
    {
        var yaml = await Kustomize.RenderAsync("overlays/cpu");
        Assert.NotNull(RenderedManifests.Parse(yaml));

        // A misspelt field in a built-in object (KubernetesClient's model) and in a KEDA object (our classes).
        var badDeployment = yaml.Replace("terminationGracePeriodSeconds:", "terminationGracePeriodSecond:", StringComparison.Ordinal);
        var badScaledObject = yaml.Replace("scalingModifiers:", "scalingModifier:", StringComparison.Ordinal);
        Assert.NotEqual(yaml, badDeployment);
        Assert.NotEqual(yaml, badScaledObject);

        var deploymentError = Assert.ThrowsAny<Exception>(() => RenderedManifests.Parse(badDeployment));
        Assert.Contains("terminationGracePeriodSecond", deploymentError.ToString(), StringComparison.Ordinal);
        var scaledObjectError = Assert.ThrowsAny<Exception>(() => RenderedManifests.Parse(badScaledObject));
        Assert.Contains("scalingModifier", scaledObjectError.ToString(), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task SiloContainer_PortsAndProbesMatchTheSiloConfiguration(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var config = SiloConfiguration(m);
        var ports = m.SiloContainer.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);

        Assert.Equal(int.Parse(config["ASPNETCORE_HTTP_PORTS"]!, CultureInfo.InvariantCulture), ports["http"]);
        Assert.Equal(config.GetValue<int>("Orleans:SiloPort"), ports["silo"]);
        Assert.Equal(config.GetValue<int>("Orleans:GatewayPort"), ports["gateway"]);
        Assert.Equal(config.GetValue<int>("Metrics:Port"), ports["metrics"]);
        Assert.Equal([8080, 9464, 11111, 30000], ports.Values.Order());

        Assert.Equal(("/readyz", "http"), (m.SiloContainer.ReadinessProbe.HttpGet.Path, m.SiloContainer.ReadinessProbe.HttpGet.Port.Value));
        Assert.Equal(("/healthz", "http"), (m.SiloContainer.LivenessProbe.HttpGet.Path, m.SiloContainer.LivenessProbe.HttpGet.Port.Value));

        // The budget covers the silo pods, and never holds up a node drain for a pod that never became ready.
        var budget = m.Single<V1PodDisruptionBudget>("orleansllm-silo");
        AssertSelects(budget.Spec.Selector.MatchLabels, m.SiloDeployment.Spec.Template.Metadata.Labels);
        Assert.Equal("AlwaysAllow", budget.Spec.UnhealthyPodEvictionPolicy);
        Assert.Equal(1, budget.Spec.MaxUnavailable.Value is string v ? int.Parse(v, CultureInfo.InvariantCulture) : -1);
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task SiloContainer_SetsEverySettingTheSiloRequires(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var env = SiloEnvironment(m);
        var backend = overlay == VllmOverlay ? OpenAiBackendSettings : OllamaSettings;
        Assert.All(RequiredSiloSettings.Concat(backend), key => Assert.False(string.IsNullOrWhiteSpace(env.GetValueOrDefault(key)), $"{key} is not set"));
        // One backend's settings, not both: a leftover Ollama__Url beside Backend__Url would only mislead.
        Assert.All(OllamaSettings.Concat(OpenAiBackendSettings).Except(backend), key => Assert.False(env.ContainsKey(key), $"{key} is set"));

        // The silo's own validators accept what the pod configures.
        var config = SiloConfiguration(m);
        // The CA file is the Secret's (checked below), not on this machine.
        var redisOptions = Bind<RedisOptions>(config, RedisOptions.Section);
        redisOptions.TrustedCaFile = null;
        AssertValid(redisOptions, new RedisOptionsValidator());
        AssertValid(Bind<OllamaOptions>(config, OllamaOptions.Section), new OllamaOptionsValidator());
        AssertValid(Bind<QueueOptions>(config, QueueOptions.Section), new QueueOptionsValidator());
        AssertValid(Bind<WorkerOptions>(config, WorkerOptions.Section), new WorkerOptionsValidator());
        Assert.True(config.GetValue<bool>("Kubernetes:PodDeletionCost"));

        // Redis: the Service of the rendered Redis, over TLS, as the user silo with its Secret's password, trusting the
        // CA that the silo's own certificate Secret carries (the cluster's, which signs Redis' certificate too).
        var redis = StackExchange.Redis.ConfigurationOptions.Parse(env["Redis__ConnectionString"]);
        var endpoint = Assert.IsType<System.Net.DnsEndPoint>(Assert.Single(redis.EndPoints));
        var redisService = m.Single<V1Service>(endpoint.Host);
        Assert.Equal(redisService.Spec.Ports.Single().Port, endpoint.Port);
        Assert.Equal(("silo", m.SecretValue("orleansllm-redis-silo", "password")), (redis.User, redis.Password));
        Assert.True(redis.Ssl, "the silo reaches Redis without TLS");
        Assert.False(redis.AbortOnConnectFail);
        var pod = new PodTemplate("silo", m.SiloDeployment.Spec.Template.Metadata, m.SiloPod);
        var ca = SecretFileAt(pod, m.SiloContainer, env["Redis__TrustedCaFile"]);
        Assert.Equal((SiloTlsSecret(m), "ca.crt"), (ca.Secret, ca.Key));
        AssertSelects(redisService.Spec.Selector, m.Single<V1Deployment>("orleansllm-redis").Spec.Template.Metadata.Labels);

        if (overlay == VllmOverlay)
        {
            AssertTheSiloCallsItsOwnPodsVllm(m, env);
            return;
        }

        // Ollama: the sidecar in the same pod, where it listens (loopback only), with the model the init container pulled.
        var ollama = new Uri(env["Ollama__Url"]);
        var ollamaHost = PodEnvironment(m, m.OllamaSidecar)["OLLAMA_HOST"];
        Assert.Equal($"{ollama.Host}:{ollama.Port}", ollamaHost);
        Assert.True(System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(ollama.Host)), $"Ollama listens on {ollamaHost}, not loopback only");
        Assert.Equal(m.OllamaSidecar.Ports.Single(p => p.Name == "ollama").ContainerPort, ollama.Port);
        Assert.Equal(env["Ollama__Model"], PodEnvironment(m, m.PullModel)["OLLAMA_MODEL"]);
        Assert.Equal(PodEnvironment(m, m.OllamaSidecar)["OLLAMA_HOST"], PodEnvironment(m, m.PullModel)["OLLAMA_HOST"]);
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task SiloContainer_GetsPodIdentityAndOrleansIdsFromTheDownwardApi(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var fieldPaths = m.SiloContainer.Env.Where(e => e.ValueFrom?.FieldRef is not null).ToDictionary(e => e.Name, e => e.ValueFrom.FieldRef.FieldPath);

        Assert.Equal("metadata.name", fieldPaths["POD_NAME"]);
        Assert.Equal("metadata.namespace", fieldPaths["POD_NAMESPACE"]);
        Assert.Equal("status.podIP", fieldPaths["POD_IP"]);
        Assert.Equal("metadata.labels['orleans/serviceId']", fieldPaths["ORLEANS_SERVICE_ID"]);
        Assert.Equal("metadata.labels['orleans/clusterId']", fieldPaths["ORLEANS_CLUSTER_ID"]);

        var labels = m.SiloDeployment.Spec.Template.Metadata.Labels;
        var env = SiloEnvironment(m);
        Assert.Equal(labels["orleans/clusterId"], env["Orleans__ClusterId"]);
        Assert.Equal(labels["orleans/serviceId"], env["Orleans__ServiceId"]);
        Assert.Equal("orleansllm", env["POD_NAMESPACE"]);
        Assert.Equal("orleansllm-silo", m.SiloPod.ServiceAccountName);
    }

    [SkippableTheory]
    [MemberData(nameof(OllamaOverlays))]
    public async Task OllamaSidecar_StartsWithTheModelBeforeTheSilo_NoPreStopHoldsUpItsRestart(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var init = m.SiloPod.InitContainers.Select(c => c.Name).ToArray();

        // pull-model runs to completion first; ollama is a native sidecar (restartPolicy Always), started before the silo.
        Assert.Equal(["pull-model", "ollama"], init);
        Assert.Null(m.PullModel.RestartPolicy);
        Assert.Equal("Always", m.OllamaSidecar.RestartPolicy);

        // Both keep HOME and the models on the same emptyDir, the one pull-model fills.
        foreach (var container in (V1Container[])[m.PullModel, m.OllamaSidecar])
        {
            var env = PodEnvironment(m, container);
            var models = MountOf(m.SiloPod, container, env["OLLAMA_MODELS"]);
            Assert.Equal(models, MountOf(m.SiloPod, container, env["HOME"]));
            Assert.NotNull(m.SiloPod.Volumes.Single(v => v.Name == models).EmptyDir);
        }

        Assert.Equal(MountOf(m.SiloPod, m.PullModel, PodEnvironment(m, m.PullModel)["OLLAMA_MODELS"]),
            MountOf(m.SiloPod, m.OllamaSidecar, PodEnvironment(m, m.OllamaSidecar)["OLLAMA_MODELS"]));
        var ollamaEnv = PodEnvironment(m, m.OllamaSidecar);
        Assert.Equal("-1", ollamaEnv["OLLAMA_KEEP_ALIVE"]);
        Assert.True(int.Parse(ollamaEnv["OLLAMA_NUM_PARALLEL"], CultureInfo.InvariantCulture) >= 1);

        // A preStop hook also runs when the liveness probe fails: none may hold up the restart of a hung Ollama, and
        // the probe's own grace period ends it quickly. The kubelet stops the sidecar after the silo anyway.
        Assert.Null(m.OllamaSidecar.Lifecycle);
        foreach (var probe in (V1Probe[])[m.OllamaSidecar.StartupProbe, m.OllamaSidecar.LivenessProbe])
        {
            Assert.Equal(["ollama", "list"], probe.Exec.Command);
            Assert.InRange(probe.TerminationGracePeriodSeconds ?? long.MaxValue, 1, 30);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task GracePeriod_ExceedsTheSilosDrainAndShutdown(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var drain = Bind<WorkerOptions>(SiloConfiguration(m), WorkerOptions.Section).DrainTimeout;
        var grace = TimeSpan.FromSeconds(m.SiloPod.TerminationGracePeriodSeconds ?? 30);

        Assert.True(drain > TimeSpan.Zero, "Worker__DrainTimeout must let in-flight calls finish");
        Assert.True(grace >= drain + SiloShutdownMargin + SidecarStopMargin,
            $"terminationGracePeriodSeconds {grace.TotalSeconds} must be at least DrainTimeout {drain.TotalSeconds} s + {SiloShutdownMargin.TotalSeconds} s (silo shutdown) + {SidecarStopMargin.TotalSeconds} s (ollama stops after it)");
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task Rbac_GrantsPodsGetListWatchPatchInTheNamespaceOnly(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        Assert.Empty(m.All<V1ClusterRole>());
        Assert.Empty(m.All<V1ClusterRoleBinding>());

        var role = Assert.Single(m.All<V1Role>());
        var rule = Assert.Single(role.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["get", "list", "patch", "watch"], rule.Verbs.Order());
        Assert.Null(rule.ResourceNames);

        var binding = Assert.Single(m.All<V1RoleBinding>());
        Assert.Equal(("Role", role.Metadata.Name), (binding.RoleRef.Kind, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", m.SiloPod.ServiceAccountName, "orleansllm"), (subject.Kind, subject.Name, subject.NamespaceProperty));
        Assert.NotNull(m.Single<V1ServiceAccount>(m.SiloPod.ServiceAccountName));
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task ScaledObject_ScalesOnTheQueuesReadyListAndEveryPriorityClassPlusInFlightHash(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var config = SiloConfiguration(m);
        var queue = Bind<QueueOptions>(config, QueueOptions.Section);
        Assert.Equal("cities", queue.Name);
        var keys = new QueueKeys(queue.Name);

        var scaled = m.Single<ScaledObject>("orleansllm-silo");
        Assert.Equal(m.SiloDeployment.Metadata.Name, scaled.Spec.ScaleTargetRef.Name);
        Assert.Null(m.SiloDeployment.Spec.Replicas); // KEDA owns the count; re-applying must not reset it.
        Assert.All(scaled.Spec.Triggers, t => Assert.Equal("redis", t.Type));
        Assert.Equal(
            keys.Outstanding.Order(),
            scaled.Spec.Triggers.Select(t => t.Metadata["listName"]).Order());

        // The formula adds up exactly the triggers (every key of outstanding work), and per-replica target = listLength of each.
        var modifiers = scaled.Spec.Advanced?.ScalingModifiers ?? throw new Xunit.Sdk.XunitException("no scalingModifiers");
        var terms = Identifier().Matches(modifiers.Formula ?? "").Select(x => x.Value).Order().ToArray();
        Assert.Equal(scaled.Spec.Triggers.Select(t => t.Name!).Order(), terms);
        Assert.Equal(string.Empty, Identifier().Replace(modifiers.Formula!, "").Replace("+", "", StringComparison.Ordinal).Trim());
        Assert.Equal("AverageValue", modifiers.MetricType);
        var target = double.Parse(modifiers.Target!, CultureInfo.InvariantCulture);
        Assert.True(target > 0);
        Assert.All(scaled.Spec.Triggers, t => Assert.Equal(target, double.Parse(t.Metadata["listLength"], CultureInfo.InvariantCulture)));
        Assert.True(scaled.Spec.MinReplicaCount >= 1, "a silo must stay up for the client's gateway");
        Assert.True(scaled.Spec.MaxReplicaCount >= scaled.Spec.MinReplicaCount);

        // Scale-down waits longer than a whole Ollama request.
        var requestTimeout = Bind<OllamaOptions>(config, OllamaOptions.Section).RequestTimeout;
        var window = scaled.Spec.Advanced.HorizontalPodAutoscalerConfig?.Behavior?.ScaleDown?.StabilizationWindowSeconds;
        Assert.True(window >= requestTimeout.TotalSeconds, $"scale-down stabilization {window} s is shorter than a request ({requestTimeout})");

        // Every trigger reads the rendered Redis as the user keda, over TLS with the CA of Redis' certificate Secret.
        var redisService = m.Single<V1Service>("orleansllm-redis");
        var expectedAddress = $"{redisService.Metadata.Name}.{redisService.Metadata.NamespaceProperty}.svc:{redisService.Spec.Ports.Single().Port}";
        foreach (var trigger in scaled.Spec.Triggers)
        {
            Assert.Equal(expectedAddress, trigger.Metadata["address"]);
            Assert.False(trigger.Metadata.ContainsKey("enableTLS"), "KEDA refuses tls in both the trigger and its TriggerAuthentication");
            var auth = m.Single<TriggerAuthentication>(trigger.AuthenticationRef!.Name).Spec.SecretTargetRef!.ToDictionary(r => r.Parameter);
            Assert.Equal(["ca", "password", "tls", "username"], auth.Keys.Order());
            Assert.Equal("keda", m.SecretValue(auth["username"].Name, auth["username"].Key));
            Assert.Equal(Kustomize.RedisPasswords["keda"], m.SecretValue(auth["password"].Name, auth["password"].Key));
            Assert.Equal("enable", m.SecretValue(auth["tls"].Name, auth["tls"].Key));
            Assert.Equal((RedisTlsSecret(m), "ca.crt"), (auth["ca"].Name, auth["ca"].Key));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task Redis_PersistsWithAofAndRequiresThePassword(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var redis = m.Single<V1Deployment>("orleansllm-redis");
        var container = redis.Spec.Template.Spec.Containers.Single();
        var args = string.Join(' ', container.Command.Concat(container.Args));

        Assert.Contains("--appendonly yes", args, StringComparison.Ordinal);
        Assert.Contains("--maxmemory-policy noeviction", args, StringComparison.Ordinal);

        // noeviction means nothing without maxmemory, which must leave room under the limit for an AOF rewrite's fork.
        var maxMemory = Regex.Match(args, @"--maxmemory (\d+)mb");
        Assert.True(maxMemory.Success, "Redis has no --maxmemory: noeviction does nothing and the kernel OOM-kills it at its limit");
        var limit = container.Resources.Limits["memory"].ToDecimal();
        Assert.InRange(long.Parse(maxMemory.Groups[1].Value, CultureInfo.InvariantCulture) * 1024 * 1024, 1, (long)(limit * 0.6m));

        // TLS only, with the certificate of its own Secret; no client certificates asked (users authenticate).
        Assert.Contains("--port 0 --tls-port 6379", args, StringComparison.Ordinal);
        Assert.Contains("--tls-auth-clients no", args, StringComparison.Ordinal);
        var pod = new PodTemplate("redis", redis.Spec.Template.Metadata, redis.Spec.Template.Spec);
        foreach (var (flag, key) in new[] { ("--tls-cert-file", "tls.crt"), ("--tls-key-file", "tls.key"), ("--tls-ca-cert-file", "ca.crt") })
        {
            var path = Regex.Match(args, $@"{flag} (\S+)").Groups[1].Value.Replace("$tls", "/etc/orleansllm/tls", StringComparison.Ordinal);
            var file = SecretFileAt(pod, container, path);
            Assert.Equal((RedisTlsSecret(m), key), (file.Secret, file.Key));
        }

        // The users' passwords reach Redis from their Secrets' files through stdin: never in its arguments or environment.
        Assert.DoesNotContain("--requirepass", args, StringComparison.Ordinal);
        Assert.DoesNotContain("--user", args.Replace("--user orleansllm-reload", "", StringComparison.Ordinal).Replace("--user keda ping", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Null(container.Env);
        Assert.Contains("redis-server - ", args, StringComparison.Ordinal);
        Assert.All(Kustomize.RedisPasswords.Values, password => Assert.DoesNotContain(password, args, StringComparison.Ordinal));
        var passwords = redis.Spec.Template.Spec.Volumes.Single(v => v.Projected is not null).Projected.Sources;
        Assert.Equal(["orleansllm-redis-client", "orleansllm-redis-keda", "orleansllm-redis-silo"], passwords.Select(p => p.Secret.Name).Order());
        Assert.All(passwords, p => Assert.Equal(p.Secret.Name["orleansllm-redis-".Length..], Assert.Single(p.Secret.Items).Path));
        var data = container.VolumeMounts.Single(v => v.MountPath == "/data");
        var claim = redis.Spec.Template.Spec.Volumes.Single(v => v.Name == data.Name).PersistentVolumeClaim.ClaimName;
        Assert.NotNull(m.Single<V1PersistentVolumeClaim>(claim));
        Assert.Equal("Recreate", redis.Spec.Strategy.Type);
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task EveryContainer_HasRequestsAndLimits(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var containers = m.All<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers.Concat(d.Spec.Template.Spec.InitContainers ?? []));
        Assert.All(containers, c =>
        {
            Assert.True(c.Resources?.Requests?.ContainsKey("cpu") == true && c.Resources.Requests.ContainsKey("memory"), $"{c.Name} requests cpu and memory");
            Assert.True(c.Resources.Limits?.ContainsKey("memory") == true, $"{c.Name} has a memory limit");
        });
    }

    [SkippableFact]
    public async Task CpuOverlay_GivesOllamaThreeWholeCpusAndTwoGigabytes()
    {
        var m = await RenderedManifests.RenderAsync("overlays/cpu");
        var resources = m.OllamaSidecar.Resources;

        Assert.Equal(3m, resources.Requests["cpu"].ToDecimal());
        Assert.Equal(3m, resources.Limits["cpu"].ToDecimal());
        Assert.Equal(2_000_000_000m, resources.Requests["memory"].ToDecimal());
        Assert.Equal(2_000_000_000m, resources.Limits["memory"].ToDecimal());
        Assert.False(resources.Limits.ContainsKey("nvidia.com/gpu"));
        Assert.Equal("qwen2:1.5b", SiloEnvironment(m)["Ollama__Model"]);
    }

    [SkippableFact]
    public async Task GpuOverlay_GivesOllamaOneGpuAndMoreParallelRequests()
    {
        var cpu = await RenderedManifests.RenderAsync("overlays/cpu");
        var gpu = await RenderedManifests.RenderAsync("overlays/gpu");

        Assert.Equal(1m, gpu.OllamaSidecar.Resources.Limits["nvidia.com/gpu"].ToDecimal());
        Assert.Contains(gpu.SiloPod.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");
        static int Parallel(RenderedManifests m) =>
            int.Parse(m.OllamaSidecar.Env.Single(e => e.Name == "OLLAMA_NUM_PARALLEL").Value, CultureInfo.InvariantCulture);
        Assert.True(Parallel(gpu) > Parallel(cpu), $"gpu OLLAMA_NUM_PARALLEL {Parallel(gpu)} should exceed cpu's {Parallel(cpu)}");
        Assert.Null(cpu.SiloPod.Tolerations);

        // The GPU request alone selects GPU nodes: no label that only NVIDIA's GPU Operator sets.
        foreach (var overlay in (string[])["overlays/cpu", "overlays/gpu"])
        {
            Assert.DoesNotContain("nvidia.com/gpu.present", await Kustomize.RenderAsync(overlay), StringComparison.Ordinal);
        }

        Assert.Null(gpu.SiloPod.NodeSelector);
        Assert.Null(gpu.SiloPod.Affinity);
    }

    [SkippableTheory]
    [MemberData(nameof(OllamaOverlays))]
    public async Task NumThreads_EqualsTheOllamaContainersCpuLimit(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var limit = m.OllamaSidecar.Resources.Limits["cpu"].ToDecimal();
        var threads = Bind<OllamaOptions>(SiloConfiguration(m), OllamaOptions.Section).NumThreads;

        Assert.True(decimal.Truncate(limit) == limit, $"the ollama container's CPU limit {limit} is not a whole number of CPUs");
        Assert.Equal((int)limit, threads);
    }

    [SkippableTheory]
    [MemberData(nameof(OllamaOverlays))]
    public async Task Controller_StartsAtOrBelowTheOllamasSlots_AndIsCappedAtOrAboveThem(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);
        var slots = int.Parse(m.OllamaSidecar.Env.Single(e => e.Name == "OLLAMA_NUM_PARALLEL").Value, CultureInfo.InvariantCulture);
        var worker = Bind<WorkerOptions>(SiloConfiguration(m), WorkerOptions.Section);

        // Above the slots a start would only queue inside Ollama; a cap below them would leave slots the controller
        // can never find. The gpu overlay starts at the slots (a GPU serves them all), the cpu one climbs from 1.
        Assert.InRange(worker.InitialConcurrency, 1, slots);
        Assert.True(worker.MaxConcurrency >= slots, $"Worker:MaxConcurrency {worker.MaxConcurrency} is below OLLAMA_NUM_PARALLEL {slots}");
        Assert.Equal(overlay == "overlays/gpu" ? slots : 1, worker.InitialConcurrency);
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task OnlyAContainerGivenAGpu_SeesGpus(string overlay)
    {
        var m = await RenderedManifests.RenderAsync(overlay);

        // The ollama and vllm images (CUDA's base) set NVIDIA_VISIBLE_DEVICES=all: a container that requests no GPU must
        // turn it off, and one given a GPU must leave it to the device plugin.
        var gpuImages = m.SiloPod.InitContainers.Concat(m.SiloPod.Containers)
            .Where(c => c.Image.StartsWith("ollama/ollama", StringComparison.Ordinal) || c.Image.StartsWith("vllm/vllm-openai", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(gpuImages);
        foreach (var container in gpuImages)
        {
            var gpus = container.Resources?.Limits?.TryGetValue("nvidia.com/gpu", out var n) == true ? n.ToDecimal() : 0;
            var visible = PodEnvironment(m, container).GetValueOrDefault("NVIDIA_VISIBLE_DEVICES");
            Assert.True(gpus > 0 ? visible is null : visible == "void", $"{container.Name}: {gpus} GPUs, NVIDIA_VISIBLE_DEVICES={visible ?? "(the image's: all)"}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(PodSources))]
    public async Task EveryContainer_RequestsEphemeralStorage(string source)
    {
        var pods = await PodSecurityTests.PodsOfAsync(source);
        Assert.All(pods.SelectMany(p => p.Spec.Containers.Concat(p.Spec.InitContainers ?? []).Select(c => (p.Source, c))), x =>
            Assert.True(x.c.Resources?.Requests?.ContainsKey("ephemeral-storage") == true, $"{x.Source} {x.c.Name} requests no ephemeral-storage"));

        // A container that fills a model cache asks for room for the model (about 1 GB; vLLM's, in Hugging Face's cache,
        // about 3 GB).
        foreach (var container in pods.SelectMany(p => p.Spec.InitContainers ?? []).Where(c =>
            c.Env?.Any(e => e.Name is "OLLAMA_MODELS" or "HF_HOME") == true))
        {
            Assert.True(container.Resources.Requests["ephemeral-storage"].ToDecimal() >= 1_000_000_000m, $"{container.Name} requests too little room for the model");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(PodSources))]
    public async Task EveryContainer_ReadOnlyRootFilesystem_WritesGoToEmptyDirs(string source)
    {
        foreach (var pod in await PodSecurityTests.PodsOfAsync(source))
        {
            foreach (var container in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
            {
                Assert.True(container.SecurityContext?.ReadOnlyRootFilesystem == true, $"{pod.Source} {container.Name}: readOnlyRootFilesystem");

                // Every place it writes to is a writable volume: /tmp, and HOME and the model cache where set.
                var env = container.Env?.Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value) ?? [];
                string[] writes = ["/tmp", .. new[] { "HOME", "OLLAMA_MODELS", "HF_HOME" }.Where(env.ContainsKey).Select(k => env[k])];
                if (container.Image.StartsWith("vllm/vllm-openai", StringComparison.Ordinal))
                {
                    writes = [.. writes, "/dev/shm"]; // PyTorch's and vLLM's shared memory between processes
                }

                // No mount inside another: the runtime would make the missing parents of its mount point owned by root,
                // where a non-root container could then write nothing else (e.g. ~/.cache under an emptyDir HOME).
                var mounts = container.VolumeMounts ?? [];
                Assert.All(mounts, inner => Assert.False(
                    mounts.Any(outer => outer != inner && inner.MountPath.StartsWith(outer.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal)),
                    $"{pod.Source} {container.Name}: {inner.MountPath} is mounted inside another mount"));

                if (container.Image.StartsWith("redis", StringComparison.Ordinal))
                {
                    writes = ["/data"];
                }

                foreach (var path in writes)
                {
                    var mount = container.VolumeMounts?.Where(v => path == v.MountPath || path.StartsWith(v.MountPath + "/", StringComparison.Ordinal))
                        .OrderByDescending(v => v.MountPath.Length).FirstOrDefault();
                    Assert.True(mount is { ReadOnlyProperty: not true }, $"{pod.Source} {container.Name} writes to {path}, which is on no writable volume");
                    var volume = pod.Spec.Volumes.Single(v => v.Name == mount!.Name);
                    Assert.True(volume.EmptyDir is not null || volume.PersistentVolumeClaim is not null, $"{pod.Source} {container.Name}: {path} is on {volume.Name}");
                }
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(PodSources))]
    public async Task ServiceAccountToken_OnlyInTheSiloContainer_AtTheStandardPath(string source)
    {
        const string TokenPath = "/var/run/secrets/kubernetes.io/serviceaccount";
        foreach (var pod in await PodSecurityTests.PodsOfAsync(source))
        {
            Assert.True(pod.Spec.AutomountServiceAccountToken == false, $"{pod.Source}: automountServiceAccountToken is not false");
            var tokenVolumes = (pod.Spec.Volumes ?? []).Where(v => v.Projected?.Sources?.Any(s => s.ServiceAccountToken is not null) == true).Select(v => v.Name).ToHashSet();
            foreach (var container in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
            {
                var mounts = (container.VolumeMounts ?? []).Where(v => tokenVolumes.Contains(v.Name) || v.MountPath.StartsWith("/var/run/secrets/kubernetes.io", StringComparison.Ordinal)).ToArray();
                if (container.Name != "silo")
                {
                    Assert.True(mounts.Length == 0, $"{pod.Source} {container.Name} mounts a service account token");
                    continue;
                }

                // What the kubelet would mount, where KubernetesClient's in-cluster configuration reads it.
                var mount = Assert.Single(mounts);
                Assert.Equal((TokenPath, true), (mount.MountPath, mount.ReadOnlyProperty == true));
                var sources = (pod.Spec.Volumes ?? []).Single(v => v.Name == mount.Name).Projected.Sources;
                Assert.Equal("token", sources.Single(s => s.ServiceAccountToken is not null).ServiceAccountToken.Path);
                Assert.InRange(sources.Single(s => s.ServiceAccountToken is not null).ServiceAccountToken.ExpirationSeconds ?? 3600, 600, 3607);
                Assert.Equal(("kube-root-ca.crt", "ca.crt"), (sources.Single(s => s.ConfigMap is not null).ConfigMap.Name, sources.Single(s => s.ConfigMap is not null).ConfigMap.Items.Single().Path));
                var ns = sources.Single(s => s.DownwardAPI is not null).DownwardAPI.Items.Single();
                Assert.Equal(("namespace", "metadata.namespace"), (ns.Path, ns.FieldRef.FieldPath));
            }
        }
    }

    [SkippableFact]
    public async Task KedaAddressAndRoleBinding_FollowARenamedNamespace()
    {
        var renamed = await Kustomize.RenderOverlayAsync("""
            resources:
              - ../cpu
            namespace: llm-renamed
            transformers:
              - ../../transformers/follow-namespace
            """);
        var m = RenderedManifests.Parse(renamed);

        Assert.Equal("llm-renamed", Assert.Single(m.All<V1Namespace>()).Metadata.Name);
        Assert.All(m.All<IMetadata<V1ObjectMeta>>().Where(o => !ClusterScoped(o)), o => Assert.Equal("llm-renamed", o.Metadata.NamespaceProperty));
        Assert.All(m.All<IMetadata<V1ObjectMeta>>().Where(ClusterScoped), o => Assert.Null(o.Metadata.NamespaceProperty));
        Assert.All(m.Single<ScaledObject>("orleansllm-silo").Spec.Triggers, t => Assert.Equal("orleansllm-redis.llm-renamed.svc:6379", t.Metadata["address"]));
        Assert.Equal("llm-renamed", Assert.Single(m.Single<V1RoleBinding>("orleansllm-silo").Subjects).NamespaceProperty);

        // Without the transformer, kustomize leaves both behind: what it guards against.
        var stale = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync("""
            resources:
              - ../cpu
            namespace: llm-renamed
            """));
        Assert.All(stale.Single<ScaledObject>("orleansllm-silo").Spec.Triggers, t => Assert.Equal("orleansllm-redis.orleansllm.svc:6379", t.Metadata["address"]));
    }

    [SkippableFact]
    public async Task PullModel_TagsAnUntaggedModel_AsTheSiloDoes()
    {
        var m = await RenderedManifests.RenderAsync("overlays/cpu");
        var script = m.PullModel.Args.Single();
        var tagging = string.Join('\n', script.Split('\n').TakeWhile(l => !l.StartsWith("ollama serve", StringComparison.Ordinal)));
        Assert.Contains("case", tagging, StringComparison.Ordinal);

        foreach (var model in (string[])["llama3.2", "llama3.2:1b", "qwen2:1.5b", "myorg/llama3.2", "registry.example.com:5000/team/llama3.2", "hf.co/org/model-GGUF:Q4_K_M"])
        {
            var bash = await ProcessRunner.RunAsync("bash", ["-c", tagging + "\nprintf '%s' \"$model\""], new Dictionary<string, string> { ["OLLAMA_MODEL"] = model });
            Assert.True(bash.ExitCode == 0, bash.ToString());
            Assert.Equal(new OllamaOptions { Model = model }.TaggedModel, bash.Stdout);
        }
    }

    [SkippableFact]
    public async Task ClientJobs_RunRealCliCommandsAgainstTheSilosRedisAndCluster()
    {
        var overlay = await RenderedManifests.RenderAsync("overlays/cpu");
        var submit = await RenderedManifests.RenderAsync("jobs/submit-cities");
        var results = await RenderedManifests.RenderAsync("jobs/results");
        var siloEnv = SiloEnvironment(overlay);

        var (submitArgs, submitParse) = await JobClientAsync(overlay, submit, "orleansllm-submit-cities", siloEnv);
        Assert.StartsWith("[ orleansllm [ submit ", submitParse, StringComparison.Ordinal);
        Assert.Equal("/data/worldcities.csv", submitArgs[1]);
        var batch = submitArgs[submitArgs.IndexOf("--batch") + 1];

        var (resultArgs, resultsParse) = await JobClientAsync(overlay, results, "orleansllm-results", siloEnv);
        Assert.StartsWith("[ orleansllm [ results ", resultsParse, StringComparison.Ordinal);
        Assert.Equal(batch, resultArgs[1]);

        // The submit Job's CSV is the one the client image ships.
        var dockerfile = File.ReadAllLines(Path.Combine(Kustomize.RepoRoot, "src", "Cli", "Dockerfile"));
        Assert.Contains(dockerfile, line => Regex.IsMatch(line, @"^COPY .*\bdata/worldcities\.csv\b.* /data/$"));
    }

    /// <returns>The Job's arguments, and how the real CLI parses them (its <c>[diagram]</c> directive).</returns>
    private static async Task<(List<string> Args, string Parse)> JobClientAsync(
        RenderedManifests overlay, RenderedManifests jobs, string name, IReadOnlyDictionary<string, string> siloEnv)
    {
        var job = jobs.Single<V1Job>(name);
        Assert.Equal("orleansllm", job.Metadata.NamespaceProperty);
        // The client: the Job's one container, or (the results Job) its init container that writes the file.
        var container = Assert.Single(job.Spec.Template.Spec.Containers.Concat(job.Spec.Template.Spec.InitContainers ?? []), c => c.Name == "client");
        Assert.Equal("Never", job.Spec.Template.Spec.RestartPolicy);
        Assert.StartsWith("registry.example.com/orleansllm/client:", container.Image, StringComparison.Ordinal);

        // The Secret comes from the overlay: the Job runs in the namespace the overlay set up.
        var both = new RenderedManifests([.. overlay.Objects, .. jobs.Objects]);
        var env = both.Environment(container, job.Spec.Template.Metadata, "orleansllm");
        var client = ClientSettings.From(new ConfigurationBuilder().AddInMemoryCollection(
            env.Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value))).Build(), redisOverride: null);
        // The same Redis, over TLS, as the user client with its own Secret's password.
        var redis = StackExchange.Redis.ConfigurationOptions.Parse(client.RedisConnectionString);
        var siloRedis = StackExchange.Redis.ConfigurationOptions.Parse(siloEnv["Redis__ConnectionString"]);
        Assert.Equal(siloRedis.EndPoints.Single(), redis.EndPoints.Single());
        Assert.Equal(("client", Kustomize.RedisPasswords["client"], true), (redis.User, redis.Password, redis.Ssl));
        Assert.Equal(siloEnv["Redis__TrustedCaFile"], client.RedisTrustedCaFile);
        Assert.Equal(siloEnv["Orleans__ClusterId"], client.ClusterId);
        Assert.Equal(siloEnv["Orleans__ServiceId"], client.ServiceId);
        Assert.Equivalent(SiloTls(overlay), client.Tls, strict: true);

        var diagram = await CliProcess.RunAsync(["[diagram]", .. container.Args]);
        Assert.True(diagram.ExitCode == 0, $"the CLI does not accept the Job's arguments: {diagram}");
        return ([.. container.Args], diagram.Stdout.Trim());
    }

    private static IReadOnlyDictionary<string, string> SiloEnvironment(RenderedManifests m) =>
        PodEnvironment(m, m.SiloContainer);

    private static IReadOnlyDictionary<string, string> PodEnvironment(RenderedManifests m, V1Container container, V1ObjectMeta? pod = null) =>
        m.Environment(container, pod ?? m.SiloDeployment.Spec.Template.Metadata, m.SiloDeployment.Metadata.NamespaceProperty);

    /// <summary>What the silo process would read: its appsettings.json overlaid with the container's environment.</summary>
    private static IConfiguration SiloConfiguration(RenderedManifests m) =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Kustomize.RepoRoot, "src", "Silo", "appsettings.json"), optional: false, reloadOnChange: false)
            .AddInMemoryCollection(SiloEnvironment(m).Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value)))
            .Build();

    private static T Bind<T>(IConfiguration config, string section)
        where T : class, new() =>
        config.GetSection(section).Get<T>() ?? new T();

    private static void AssertValid<T>(T options, IValidateOptions<T> validator)
        where T : class
    {
        var result = validator.Validate(null, options);
        Assert.False(result.Failed, $"{typeof(T).Name}: {result.FailureMessage}");
    }

    /// <summary>The volume under which <paramref name="path"/> lies in <paramref name="container"/>.</summary>
    private static string MountOf(V1PodSpec pod, V1Container container, string path) =>
        container.VolumeMounts.Where(v => path == v.MountPath || path.StartsWith(v.MountPath + "/", StringComparison.Ordinal))
            .OrderByDescending(v => v.MountPath.Length).FirstOrDefault()?.Name
        ?? throw new Xunit.Sdk.XunitException($"{container.Name}: {path} is on no volume");

    private static void AssertSelects(IDictionary<string, string> selector, IDictionary<string, string> podLabels)
    {
        Assert.NotEmpty(selector);
        Assert.All(selector, kv => Assert.Equal(kv.Value, podLabels.TryGetValue(kv.Key, out var v) ? v : null));
    }

    [GeneratedRegex("[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex Identifier();
}
