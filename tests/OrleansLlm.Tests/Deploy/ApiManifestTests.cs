using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The OpenAI Batch API on Kubernetes: deploy/components/api as deploy/overlays/cpu-api lists it, and the optional
/// api-webhooks and api-ingress components beside it, rendered and checked against the silo pods they serve.
/// </summary>
[Trait("Category", "Deploy")]
public sealed partial class ApiManifestTests
{
    public const string Overlay = "overlays/cpu-api";
    private const int ApiPort = 8000;

    /// <summary>The API's default file limit (Api:MaxFileBytes), which the Ingress must let through whole.</summary>
    private const long MaxFileBytes = 200L * 1024 * 1024;

    /// <summary>The overlay of one's own that docs/kubernetes.md shows: cpu-api with webhooks and the Ingress.</summary>
    internal const string WithWebhooksAndIngress = """
        resources:
          - ../cpu-api
        components:
          - ../../components/api-webhooks
          - ../../components/api-ingress
        """;

    [SkippableFact]
    public async Task Silo_ServesTheApiOnItsOwnPort_WithTheKeysOfTheGeneratedSecret()
    {
        var m = await RenderedManifests.RenderAsync(Overlay);
        var ports = m.SiloContainer.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
        Assert.Equal([ApiPort, 8080, 9464, 11111, 30000], ports.Values.Order());
        Assert.Equal(ApiPort, ports["api"]);

        var env = Environment(m);
        Assert.Equal(ports["api"].ToString(CultureInfo.InvariantCulture), env["Api__Port"]);

        // The keys come whole from the Secret made from the user's file, which must exist for the pod to start.
        var source = Assert.Single(m.SiloContainer.EnvFrom);
        Assert.NotEqual(true, source.SecretRef.Optional);
        var secret = m.Single<V1Secret>(source.SecretRef.Name);
        Assert.StartsWith("orleansllm-api-keys-", secret.Metadata.Name, StringComparison.Ordinal); // a content hash rolls the pods
        Assert.All(secret.Data.Keys, key => Assert.Matches(KeySetting(), key));

        // Exactly the keys made, N = 0, 1, ..., each with its tenant and the hash of its key, as the silo reads them.
        var keys = secret.Data.Keys.Select(k => KeySetting().Match(k)).GroupBy(x => int.Parse(x.Groups["n"].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Enumerable.Range(0, Kustomize.ApiKeys.Count), keys.Select(g => g.Key).Order());
        Assert.Equal(
            Kustomize.ApiKeys.Select(k => (k.Key, Kustomize.Sha256Hex(k.Value))).Order(),
            keys.Select(g => (env[$"Api__Keys__{g.Key}__Tenant"], env[$"Api__Keys__{g.Key}__Sha256"])).Order());
        Assert.All(keys, g => Assert.Matches("^[0-9a-f]{64}$", env[$"Api__Keys__{g.Key}__Sha256"]));

        // The keys themselves are nowhere in what is applied, and no webhook is configured without its component.
        var yaml = await Kustomize.RenderAsync(Overlay);
        Assert.All(Kustomize.ApiKeys.Values, key => Assert.DoesNotContain(key, yaml, StringComparison.Ordinal));
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("Webhooks__", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Silo_DiffersFromTheCpuOverlays_OnlyByTheApi()
    {
        var cpu = await RenderedManifests.RenderAsync("overlays/cpu");
        var api = await RenderedManifests.RenderAsync(Overlay);
        var container = api.SiloContainer;
        container.Ports = [.. container.Ports.Where(p => p.Name != "api")];
        container.Env = [.. container.Env.Where(e => e.Name != "Api__Port")];
        container.EnvFrom = null;

        Assert.Equal(k8s.KubernetesJson.Serialize(cpu.SiloDeployment), k8s.KubernetesJson.Serialize(api.SiloDeployment));

        // Every object of the cpu overlay is there unchanged; the api adds its Service, NetworkPolicy and Secret alone.
        string Key(object o) => $"{o.GetType().Name}/{((IMetadata<V1ObjectMeta>)o).Metadata.Name}";
        var added = api.Objects.Select(Key).Except(cpu.Objects.Select(Key)).Order().ToArray();
        Assert.Equal(3, added.Length);
        Assert.Equal(["V1NetworkPolicy/orleansllm-silo-api", "V1Service/orleansllm-api"], added.Where(a => !a.StartsWith("V1Secret/", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public async Task Service_SelectsExactlyTheSiloPods_OnTheirApiPort()
    {
        var m = await RenderedManifests.RenderAsync(Overlay);
        var service = m.Single<V1Service>("orleansllm-api");
        Assert.Equal("ClusterIP", service.Spec.Type);
        Assert.Equal(m.SiloDeployment.Metadata.NamespaceProperty, service.Metadata.NamespaceProperty);

        // The silo pods, and no other pod of the overlay, the Jobs or the docs' CLI.
        var others = (await OtherPodsAsync(m)).ToArray();
        Assert.True(NetworkPolicyEvaluator.Matches(new V1LabelSelector { MatchLabels = service.Spec.Selector }, m.SiloDeployment.Spec.Template.Metadata.Labels));
        Assert.All(others, p => Assert.False(NetworkPolicyEvaluator.Matches(new V1LabelSelector { MatchLabels = service.Spec.Selector }, p.Metadata.Labels), $"{p} is behind orleansllm-api"));

        // 8000, to the container port the silo serves the API on; nothing else of the silos is behind a Service.
        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal(ApiPort, port.Port);
        var target = Assert.Single(m.SiloContainer.Ports, p => p.Name == port.TargetPort.Value || p.ContainerPort.ToString(CultureInfo.InvariantCulture) == port.TargetPort.Value);
        Assert.Equal(Environment(m)["Api__Port"], target.ContainerPort.ToString(CultureInfo.InvariantCulture));
        Assert.Single(m.All<V1Service>(), s => s.Spec.Selector?.All(kv => m.SiloDeployment.Spec.Template.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value) == true);
        Assert.DoesNotContain(m.All<V1Service>(), s => s.Spec.Type is "LoadBalancer" or "NodePort");
    }

    [SkippableFact]
    public async Task NetworkPolicy_APodOfAnotherNamespace_ReachesTheApiPort_AndNoOtherPort()
    {
        var m = await RenderedManifests.RenderAsync(Overlay);
        var evaluator = new NetworkPolicyEvaluator([.. m.All<V1NetworkPolicy>()]);
        var silo = m.SiloDeployment.Spec.Template.Metadata.Labels;
        var named = m.SiloContainer.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
        Peer[] strangers =
        [
            Peer.Pod("a team's client in its own namespace", "team-a", new Dictionary<string, string> { ["app"] = "enrich" }),
            Peer.Pod("ingress-nginx's controller", "ingress-nginx", IngressControllerLabels),
            Peer.Outside("a load balancer outside the cluster", "203.0.113.9"),
        ];

        foreach (var peer in strangers)
        {
            Assert.True(evaluator.Allows(peer, NetworkPolicyTests.Namespace, silo, ApiPort, named), $"{peer} cannot reach the API");
            foreach (var closed in (int[])[8080, 9464, 11434, 11111, 30000])
            {
                Assert.False(evaluator.Allows(peer, NetworkPolicyTests.Namespace, silo, closed, named), $"{peer} reaches the silo's port {closed}");
            }

            var redis = m.Single<V1Deployment>("orleansllm-redis").Spec.Template.Metadata.Labels;
            Assert.False(evaluator.Allows(peer, NetworkPolicyTests.Namespace, redis, 6379, named), $"{peer} reaches Redis");
        }
    }

    [SkippableFact]
    public async Task Ingress_NotAppliedByDefault_ItsExampleRoutesToTheApiOverTls()
    {
        Assert.Empty((await RenderedManifests.RenderAsync(Overlay)).All<V1Ingress>());

        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(WithWebhooksAndIngress));
        var ingress = Assert.Single(m.All<V1Ingress>());
        Assert.Equal("nginx", ingress.Spec.IngressClassName);
        Assert.Equal(m.SiloDeployment.Metadata.NamespaceProperty, ingress.Metadata.NamespaceProperty);

        // Every host it serves has a certificate; every path goes to the API's Service, on a port it has.
        var tlsHosts = ingress.Spec.Tls.SelectMany(t => t.Hosts).ToHashSet(StringComparer.Ordinal);
        Assert.All(ingress.Spec.Tls, t => Assert.False(string.IsNullOrEmpty(t.SecretName)));
        var rule = Assert.Single(ingress.Spec.Rules);
        Assert.Contains(rule.Host, tlsHosts);
        var path = Assert.Single(rule.Http.Paths);
        Assert.Equal(("/v1", "Prefix"), (path.Path, path.PathType));
        var service = m.Single<V1Service>(path.Backend.Service.Name);
        Assert.Equal("orleansllm-api", service.Metadata.Name);
        Assert.Equal(ApiPort, path.Backend.Service.Port.Number ?? service.Spec.Ports.Single(p => p.Name == path.Backend.Service.Port.Name).Port);
        Assert.Contains(service.Spec.Ports, p => p.Port == ApiPort);

        // ingress-nginx lets the API's largest file through (the API answers a larger one itself, with a 413), streams
        // uploads and downloads, and waits long enough between reads and writes for large files.
        var annotations = ingress.Metadata.Annotations;
        var bodySize = NginxSize(annotations["nginx.ingress.kubernetes.io/proxy-body-size"]);
        Assert.InRange(bodySize, MaxFileBytes + (64 * 1024), 2 * MaxFileBytes);
        Assert.Equal("off", annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"]);
        Assert.Equal("off", annotations["nginx.ingress.kubernetes.io/proxy-buffering"]);
        Assert.True(int.Parse(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], CultureInfo.InvariantCulture) >= 600);
        Assert.True(int.Parse(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"], CultureInfo.InvariantCulture) >= 600);
    }

    [SkippableFact]
    public async Task Webhooks_UrlAndTheSigningSecretOfItsOwnGeneratedSecret()
    {
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(WithWebhooksAndIngress));
        var env = Environment(m);

        Assert.True(Uri.TryCreate(env["Webhooks__Url"], UriKind.Absolute, out var url) && url.Scheme == "https", $"Webhooks__Url {env["Webhooks__Url"]}");
        var reference = m.SiloContainer.Env.Single(e => e.Name == "Webhooks__Secret").ValueFrom.SecretKeyRef;
        Assert.StartsWith("orleansllm-api-webhook-", reference.Name, StringComparison.Ordinal);
        Assert.NotEqual(true, reference.Optional);
        Assert.Equal(Kustomize.WebhookSecret, env["Webhooks__Secret"]);

        // A Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes.
        var secret = env["Webhooks__Secret"];
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.InRange(Convert.FromBase64String(secret["whsec_".Length..]).Length, 24, 64);
        Assert.Equal(Kustomize.ApiKeys.Count * 2, env.Keys.Count(k => k.StartsWith("Api__Keys__", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public async Task WithoutTheKeysFile_ApplyingTheApiFails_NamingIt_TheCpuOverlayNeedsNone()
    {
        var copy = CopyWithout("api-keys.env", "api-webhook.env");
        try
        {
            var api = await KustomizeAsync(Path.Combine(copy, "overlays", "cpu-api"));
            Assert.NotEqual(0, api.ExitCode);
            Assert.Contains("deploy/secrets/api-keys/api-keys.env: no such file or directory", api.Stderr, StringComparison.Ordinal);

            var cpu = await KustomizeAsync(Path.Combine(copy, "overlays", "cpu"));
            Assert.True(cpu.ExitCode == 0, cpu.ToString());

            // The webhooks' file likewise, once the keys are there.
            await File.WriteAllTextAsync(Path.Combine(copy, "secrets", "api-keys", "api-keys.env"), Kustomize.OwnFiles["secrets/api-keys/api-keys.env"]);
            Directory.CreateDirectory(Path.Combine(copy, "overlays", "mine"));
            await File.WriteAllTextAsync(Path.Combine(copy, "overlays", "mine", "kustomization.yaml"), WithWebhooksAndIngress);
            var webhooks = await KustomizeAsync(Path.Combine(copy, "overlays", "mine"));
            Assert.NotEqual(0, webhooks.ExitCode);
            Assert.Contains("deploy/secrets/api-webhook/api-webhook.env: no such file or directory", webhooks.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    [SkippableFact]
    public async Task EveryPod_WithTheApiWebhooksAndIngress_StillPassesTheRestrictedProfile()
    {
        foreach (var (source, m) in new[]
        {
            (Overlay, await RenderedManifests.RenderAsync(Overlay)),
            ("cpu-api with api-webhooks and api-ingress", RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(WithWebhooksAndIngress))),
        })
        {
            var pods = PodTemplate.Of(source, m).ToArray();
            Assert.Equal(2, pods.Length);
            var violations = pods.SelectMany(p => PodSecurityStandards.RestrictedRules.SelectMany(r => r.Violations(p)).Select(v => $"{p}: {v}")).ToArray();
            Assert.True(violations.Length == 0, string.Join("\n", violations));
            Assert.Equal("restricted", Assert.Single(m.All<V1Namespace>()).Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        }
    }

    internal static Dictionary<string, string> IngressControllerLabels => new()
    {
        ["app.kubernetes.io/name"] = "ingress-nginx",
        ["app.kubernetes.io/instance"] = "ingress-nginx",
        ["app.kubernetes.io/component"] = "controller",
    };

    private static IReadOnlyDictionary<string, string> Environment(RenderedManifests m) =>
        m.Environment(m.SiloContainer, m.SiloDeployment.Spec.Template.Metadata, m.SiloDeployment.Metadata.NamespaceProperty);

    /// <summary>Every pod but the silos': Redis, the Jobs' and the docs' CLI pod.</summary>
    private static async Task<IEnumerable<PodTemplate>> OtherPodsAsync(RenderedManifests m) =>
        PodTemplate.Of(Overlay, m).Where(p => p.Source != $"{Overlay} Deployment/{RenderedManifests.SiloDeploymentName}")
            .Concat(PodTemplate.Of("jobs/submit-cities", await RenderedManifests.RenderAsync("jobs/submit-cities")))
            .Concat(PodTemplate.Of("jobs/results", await RenderedManifests.RenderAsync("jobs/results")))
            .Concat(await PodSecurityTests.PodsOfAsync(PodSecurityTests.CliSource));

    /// <summary>nginx's size syntax: bytes, or k and m for KiB and MiB.</summary>
    private static long NginxSize(string size) => size[^1] switch
    {
        'k' or 'K' => long.Parse(size[..^1], CultureInfo.InvariantCulture) * 1024,
        'm' or 'M' => long.Parse(size[..^1], CultureInfo.InvariantCulture) * 1024 * 1024,
        _ => long.Parse(size, CultureInfo.InvariantCulture),
    };

    /// <summary>A copy of the rendered deploy/ (with the user's files) without some of them; its deploy/ directory.</summary>
    private static string CopyWithout(params string[] files)
    {
        var copy = Path.Combine(Directory.CreateTempSubdirectory("orleansllm-no-api-keys-").FullName, "deploy");
        foreach (var file in Directory.EnumerateFiles(Kustomize.DeployRoot, "*", SearchOption.AllDirectories).Where(f => !files.Contains(Path.GetFileName(f))))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(Kustomize.DeployRoot, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return copy;
    }

    private static Task<CliRun> KustomizeAsync(string dir) =>
        ProcessRunner.RunAsync(System.Environment.GetEnvironmentVariable("KUBECTL") ?? "kubectl", ["kustomize", dir]);

    [GeneratedRegex(@"^Api__Keys__(?<n>0|[1-9][0-9]*)__(Tenant|Sha256)$")]
    private static partial Regex KeySetting();
}
