using k8s;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

// KEDA's custom resources are not in KubernetesClient's model, so these typed classes stand in for the fields the
// deployment uses (from KEDA's apis/keda/v1alpha1). KubernetesYaml's strict mode rejects any field they lack, so a
// typo such as "scalingModifier" fails the tests instead of being silently ignored by a cluster's KEDA.

public sealed class ScaledObject : IKubernetesObject<V1ObjectMeta>
{
    public const string ApiGroupVersion = "keda.sh/v1alpha1";

    public string ApiVersion { get; set; } = ApiGroupVersion;

    public string Kind { get; set; } = nameof(ScaledObject);

    public V1ObjectMeta Metadata { get; set; } = new();

    public ScaledObjectSpec Spec { get; set; } = new();
}

public sealed class ScaledObjectSpec
{
    public ScaleTarget ScaleTargetRef { get; set; } = new();

    public int? PollingInterval { get; set; }

    public int? InitialCooldownPeriod { get; set; }

    public int? CooldownPeriod { get; set; }

    public int? IdleReplicaCount { get; set; }

    public int? MinReplicaCount { get; set; }

    public int? MaxReplicaCount { get; set; }

    public AdvancedConfig? Advanced { get; set; }

    public List<ScaleTrigger> Triggers { get; set; } = [];

    public ScaledObjectFallback? Fallback { get; set; }
}

public sealed class ScaleTarget
{
    public string Name { get; set; } = "";

    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public string? EnvSourceContainerName { get; set; }
}

public sealed class AdvancedConfig
{
    public HorizontalPodAutoscalerConfig? HorizontalPodAutoscalerConfig { get; set; }

    public bool? RestoreToOriginalReplicaCount { get; set; }

    public ScalingModifiers? ScalingModifiers { get; set; }
}

public sealed class HorizontalPodAutoscalerConfig
{
    public string? Name { get; set; }

    public V2HorizontalPodAutoscalerBehavior? Behavior { get; set; }
}

public sealed class ScalingModifiers
{
    public string? Formula { get; set; }

    public string? Target { get; set; }

    public string? ActivationTarget { get; set; }

    public string? MetricType { get; set; }
}

public sealed class ScaledObjectFallback
{
    public int FailureThreshold { get; set; }

    public int Replicas { get; set; }

    public string? Behavior { get; set; }
}

public sealed class ScaleTrigger
{
    public string Type { get; set; } = "";

    public string? Name { get; set; }

    public bool? UseCachedMetrics { get; set; }

    public Dictionary<string, string> Metadata { get; set; } = [];

    public AuthenticationRef? AuthenticationRef { get; set; }

    public string? MetricType { get; set; }
}

public sealed class AuthenticationRef
{
    public string Name { get; set; } = "";

    public string? Kind { get; set; }
}

public sealed class TriggerAuthentication : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = ScaledObject.ApiGroupVersion;

    public string Kind { get; set; } = nameof(TriggerAuthentication);

    public V1ObjectMeta Metadata { get; set; } = new();

    public TriggerAuthenticationSpec Spec { get; set; } = new();
}

public sealed class TriggerAuthenticationSpec
{
    public List<AuthSecretTargetRef>? SecretTargetRef { get; set; }
}

public sealed class AuthSecretTargetRef
{
    public string Parameter { get; set; } = "";

    public string Name { get; set; } = "";

    public string Key { get; set; } = "";
}
