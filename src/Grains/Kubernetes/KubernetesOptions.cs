using k8s;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Kubernetes;

/// <summary>Running in Kubernetes: Orleans' Kubernetes hosting and the pods' deletion cost. Section <c>Kubernetes</c>.</summary>
public sealed class KubernetesOptions
{
    public const string Section = "Kubernetes";

    /// <summary>Set by the pod's Downward API (<c>metadata.name</c>); with Kubernetes hosting it is the silo's name.</summary>
    public const string PodNameVariable = "POD_NAME";

    /// <summary>Set by the pod's Downward API (<c>metadata.namespace</c>).</summary>
    public const string PodNamespaceVariable = "POD_NAMESPACE";

    /// <summary>Set by the kubelet in every container of every pod.</summary>
    public const string ServiceHostVariable = "KUBERNETES_SERVICE_HOST";

    /// <summary>
    /// Turns Orleans' Kubernetes hosting (and with it <see cref="PodDeletionCost"/>) on or off. Default: on when the
    /// environment variables <c>KUBERNETES_SERVICE_HOST</c> and <c>POD_NAME</c> are both set, that is, inside a pod
    /// that gets its name through the Downward API; off everywhere else.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// Have each silo keep the annotation <c>controller.kubernetes.io/pod-deletion-cost</c> of its own pod in one of a
    /// few coarse buckets (draining, idle, busy: <see cref="PodDeletionCostBucket"/>), so a scale-down removes idle
    /// pods before busy ones. Needs the pods <c>patch</c> and <c>get</c> permissions. Only when <see cref="Enabled"/>.
    /// Default: true.
    /// </summary>
    public bool PodDeletionCost { get; set; } = true;

    /// <summary>How often a silo compares its worker's state with its pod's bucket (a patch follows only a change). Default: 5 seconds.</summary>
    public TimeSpan PodDeletionCostInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a busy silo's worker must have had nothing in flight before its pod counts as idle again. It bridges
    /// the moments between one item and the next, so a pod working through a queue stays busy instead of flipping.
    /// Default: 30 seconds.
    /// </summary>
    public TimeSpan PodDeletionCostIdleAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The namespace of the silos' pods. Default: <c>POD_NAMESPACE</c>, else the namespace of the pod's service account.</summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// A kubeconfig file to reach the API server with, e.g. to run a silo outside the cluster. Default: none: the
    /// pod's service account (in-cluster configuration).
    /// </summary>
    public string? ConfigFile { get; set; }

    /// <summary>Whether this process runs as a Kubernetes pod: <see cref="Enabled"/> if set, else detected from the environment.</summary>
    public bool IsEnabled(Func<string, string?> environment) =>
        Enabled ?? (!string.IsNullOrEmpty(environment(ServiceHostVariable)) && !string.IsNullOrEmpty(environment(PodNameVariable)));

    /// <summary>How to reach the API server: <see cref="ConfigFile"/> if set, else the pod's service account.</summary>
    public KubernetesClientConfiguration CreateClientConfiguration() =>
        ConfigFile is { Length: > 0 } file
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(file)
            : KubernetesClientConfiguration.InClusterConfig();
}

/// <summary>Fills <see cref="KubernetesOptions.Namespace"/> from the pod's environment when configuration leaves it out.</summary>
public sealed class KubernetesOptionsDefaults : IPostConfigureOptions<KubernetesOptions>
{
    // Mounted in every pod whose service account token is automounted (the default).
    private const string ServiceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    public void PostConfigure(string? name, KubernetesOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Namespace))
        {
            options.Namespace = Environment.GetEnvironmentVariable(KubernetesOptions.PodNamespaceVariable) is { Length: > 0 } ns
                ? ns
                : File.Exists(ServiceAccountNamespaceFile) ? File.ReadAllText(ServiceAccountNamespaceFile).Trim() : null;
        }
    }
}

public sealed class KubernetesOptionsValidator : IValidateOptions<KubernetesOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesOptions o)
    {
        var failures = new List<string>();
        const string s = KubernetesOptions.Section;
        if (o.PodDeletionCostInterval <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.PodDeletionCostInterval)} must be positive (was {o.PodDeletionCostInterval}).");
        }

        if (o.PodDeletionCostIdleAfter < TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.PodDeletionCostIdleAfter)} must not be negative (was {o.PodDeletionCostIdleAfter}).");
        }

        if (o.ConfigFile is { Length: > 0 } file && !File.Exists(file))
        {
            failures.Add($"{s}:{nameof(o.ConfigFile)} names no file ('{file}').");
        }

        if (o.Namespace is { } ns && (ns.Length == 0 || ns.Any(char.IsWhiteSpace) || ns.Contains('/')))
        {
            failures.Add($"{s}:{nameof(o.Namespace)} must be a Kubernetes namespace name (was '{ns}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
