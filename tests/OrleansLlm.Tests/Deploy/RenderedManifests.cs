using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The objects of one rendered kustomization, parsed strictly: every document must map onto KubernetesClient's
/// typed model (or the KEDA classes here) with no unknown or duplicate fields.
/// </summary>
public sealed partial class RenderedManifests(IReadOnlyList<object> objects)
{
    public const string SiloDeploymentName = "orleansllm-silo";

    public static readonly IReadOnlyDictionary<string, Type> CustomTypes = new Dictionary<string, Type>
    {
        [$"{ScaledObject.ApiGroupVersion}/{nameof(ScaledObject)}"] = typeof(ScaledObject),
        [$"{ScaledObject.ApiGroupVersion}/{nameof(TriggerAuthentication)}"] = typeof(TriggerAuthentication),
        [$"{Certificate.ApiGroupVersion}/{nameof(Certificate)}"] = typeof(Certificate),
        [$"{Certificate.ApiGroupVersion}/{nameof(Issuer)}"] = typeof(Issuer),
        [$"{PodMonitor.ApiGroupVersion}/{nameof(PodMonitor)}"] = typeof(PodMonitor),
    };

    public IReadOnlyList<object> Objects { get; } = objects;

    public static async Task<RenderedManifests> RenderAsync(string relativeDir) => Parse(await Kustomize.RenderAsync(relativeDir));

    public static RenderedManifests Parse(string yaml) =>
        new(KubernetesYaml.LoadAllFromString(yaml, CustomTypes.ToDictionary(), strict: true));

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Single<T>(string name)
        where T : IMetadata<V1ObjectMeta> =>
        All<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"no {typeof(T).Name} named '{name}' in the rendered manifests");

    public V1Deployment SiloDeployment => Single<V1Deployment>(SiloDeploymentName);

    public V1PodSpec SiloPod => SiloDeployment.Spec.Template.Spec;

    public V1Container SiloContainer => SiloPod.Containers.Single(c => c.Name == "silo");

    public V1Container OllamaSidecar => SiloPod.InitContainers.Single(c => c.Name == "ollama");

    public V1Container PullModel => SiloPod.InitContainers.Single(c => c.Name == "pull-model");

    /// <summary>The vllm sidecar of the vllm overlay (deploy/components/vllm).</summary>
    public V1Container VllmSidecar => SiloPod.InitContainers.Single(c => c.Name == "vllm");

    /// <summary>
    /// The environment a container would see: literal values with <c>$(VAR)</c> expanded as the kubelet does,
    /// Secret and ConfigMap keys (and whole Secrets and ConfigMaps, envFrom) looked up in the rendered objects, and the downward API resolved against the pod
    /// template (with stand-ins for the pod's name and IP). A Secret key marked optional that the Secret lacks leaves
    /// its variable unset, as the kubelet does.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment(V1Container container, V1ObjectMeta podMetadata, string @namespace)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);

        // envFrom first: a variable of env with the same name wins, as in the kubelet.
        foreach (var source in container.EnvFrom ?? [])
        {
            var values = source switch
            {
                { SecretRef.Name: { } secret } => Single<V1Secret>(secret).Data?.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value)),
                { ConfigMapRef.Name: { } map } => Single<V1ConfigMap>(map).Data,
                _ => throw new Xunit.Sdk.XunitException($"envFrom of {container.Name} has a source this test does not understand"),
            };
            foreach (var (key, value) in values ?? new Dictionary<string, string>())
            {
                env[(source.Prefix ?? "") + key] = value;
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            if (variable.ValueFrom?.SecretKeyRef is { Optional: true } optional
                && All<V1Secret>().FirstOrDefault(x => x.Metadata.Name == optional.Name)?.Data?.ContainsKey(optional.Key) != true)
            {
                continue;
            }

            env[variable.Name] = variable switch
            {
                { Value: { } value } => Expand(value, env),
                { ValueFrom.FieldRef.FieldPath: { } path } => FieldRef(path, podMetadata, @namespace),
                { ValueFrom.SecretKeyRef: { } secret } => SecretValue(secret.Name, secret.Key),
                { ValueFrom.ConfigMapKeyRef: { } map } => ConfigMapValue(map.Name, map.Key),
                _ => throw new Xunit.Sdk.XunitException($"env {variable.Name} of {container.Name} has no value this test understands"),
            };
        }

        return env;
    }

    public string SecretValue(string name, string key)
    {
        var secret = Single<V1Secret>(name);
        return secret.Data?.TryGetValue(key, out var bytes) == true
            ? Encoding.UTF8.GetString(bytes)
            : throw new Xunit.Sdk.XunitException($"Secret {name} has no key '{key}'");
    }

    public string ConfigMapValue(string name, string key)
    {
        var map = Single<V1ConfigMap>(name);
        return map.Data?.TryGetValue(key, out var value) == true
            ? value
            : throw new Xunit.Sdk.XunitException($"ConfigMap {name} has no key '{key}'");
    }

    // The kubelet expands $(NAME) from variables defined earlier in the list; $$ escapes.
    private static string Expand(string value, IReadOnlyDictionary<string, string> earlier) =>
        VariableReference().Replace(value, m => m.Value == "$$" ? "$" : earlier.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    private static string FieldRef(string path, V1ObjectMeta pod, string @namespace)
    {
        if (LabelFieldPath().Match(path) is { Success: true } label)
        {
            return pod.Labels?.TryGetValue(label.Groups[1].Value, out var value) == true
                ? value
                : throw new Xunit.Sdk.XunitException($"fieldRef {path} names a label the pod template does not have");
        }

        return path switch
        {
            "metadata.name" => "orleansllm-silo-7d9c8b6f5-abcde",
            "metadata.namespace" => @namespace,
            "status.podIP" => "10.244.1.23",
            _ => throw new Xunit.Sdk.XunitException($"fieldRef {path} is not one this test understands"),
        };
    }

    [GeneratedRegex(@"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"^metadata\.labels\['([^']+)'\]$")]
    private static partial Regex LabelFieldPath();
}
