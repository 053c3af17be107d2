using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The pod that the docs' <c>kubectl run ... --override-type=strategic --overrides="$(cat deploy/cli/pod-overrides.json)"</c>
/// creates: the pod <c>kubectl run</c> generates, with the overrides merged in as a strategic merge patch (objects
/// merged field by field, containers, volumes and env merged by name, volume mounts by path), then parsed strictly.
/// </summary>
public static class CliPod
{
    public const string Name = "orleansllm-cli";

    public const string OverridesFile = "deploy/cli/pod-overrides.json";

    // The patchMergeKey of the PodSpec lists the overrides use; any other list is replaced.
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["volumes"] = "name",
        ["env"] = "name",
        ["volumeMounts"] = "mountPath",
        ["ports"] = "containerPort",
        ["imagePullSecrets"] = "name",
    };

    /// <summary>The CLI pod of the repository's overrides, running <paramref name="args"/>.</summary>
    public static PodTemplate FromRepository(string image, IReadOnlyList<string> args) =>
        Build(Name, image, args, File.ReadAllText(Path.Combine(RepoPaths.Root, OverridesFile)));

    /// <summary>What <c>kubectl run NAME --image=IMAGE --restart=Never -i -- ARGS</c> creates, with the overrides merged in.</summary>
    public static PodTemplate Build(string name, string image, IReadOnlyList<string> args, string overrides)
    {
        var generated = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["run"] = name } },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = name,
                    ["image"] = image,
                    ["args"] = new JsonArray([.. args.Select(a => (JsonNode)JsonValue.Create(a)!)]),
                    ["stdin"] = true,
                    ["stdinOnce"] = true,
                }),
                ["restartPolicy"] = "Never",
                ["dnsPolicy"] = "ClusterFirst",
            },
        };
        var patch = JsonNode.Parse(overrides) ?? throw new InvalidOperationException($"{OverridesFile} is empty");
        var merged = Merge(generated, patch, field: null)!;
        var pod = KubernetesYaml.LoadAllFromString(merged.ToJsonString(), strict: true).OfType<V1Pod>().Single();
        return new PodTemplate($"{OverridesFile} Pod/{name}", pod.Metadata, pod.Spec);
    }

    private static JsonNode? Merge(JsonNode? target, JsonNode? patch, string? field)
    {
        switch (target, patch)
        {
            case (JsonObject to, JsonObject from):
                var result = (JsonObject)to.DeepClone();
                foreach (var (key, value) in from)
                {
                    if (value is null)
                    {
                        result.Remove(key);
                    }
                    else
                    {
                        result[key] = Merge(result[key], value, key);
                    }
                }

                return result;
            case (JsonArray to, JsonArray from) when field is not null && MergeKeys.TryGetValue(field, out var key):
                var items = to.Select(i => i?.DeepClone()).ToList();
                foreach (var item in from)
                {
                    var id = item?[key]?.ToJsonString();
                    var at = items.FindIndex(i => i?[key]?.ToJsonString() == id);
                    if (at >= 0)
                    {
                        items[at] = Merge(items[at], item, field: null);
                    }
                    else
                    {
                        items.Add(item?.DeepClone());
                    }
                }

                return new JsonArray([.. items]);
            default:
                return patch?.DeepClone();
        }
    }
}
