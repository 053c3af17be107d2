using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Kubernetes;

public static class KubernetesExtensions
{
    /// <summary>
    /// Has the coordinator keep <c>controller.kubernetes.io/pod-deletion-cost</c> on every silo's pod equal to its
    /// items in flight (see <see cref="PodDeletionCostTracker"/>). For silos running as Kubernetes pods with
    /// Kubernetes hosting, whose silo names are their pods' names; settings under <c>Kubernetes</c>.
    /// </summary>
    public static ISiloBuilder AddKubernetesPodDeletionCost(this ISiloBuilder builder)
    {
        builder.Services.AddKubernetesPodDeletionCost();
        return builder;
    }

    public static IServiceCollection AddKubernetesPodDeletionCost(this IServiceCollection services)
    {
        services.AddOptions<KubernetesOptions>()
            .BindConfiguration(KubernetesOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Namespace),
                $"{KubernetesOptions.Section}:{nameof(KubernetesOptions.Namespace)} is not set, and neither {KubernetesOptions.PodNamespaceVariable} " +
                "nor the pod's service account gives it.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KubernetesOptions>, KubernetesOptionsDefaults>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesOptions>, KubernetesOptionsValidator>());
        services.RemoveAll<IPodDeletionCostPublisher>();
        services.AddSingleton<IPodDeletionCostPublisher, KubernetesPodDeletionCostPublisher>();
        return services;
    }
}
