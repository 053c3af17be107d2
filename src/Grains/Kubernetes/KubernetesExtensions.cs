using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Kubernetes;

public static class KubernetesExtensions
{
    /// <summary>
    /// Has the silo keep <c>controller.kubernetes.io/pod-deletion-cost</c> on its own pod in its worker's bucket:
    /// draining, idle or busy (see <see cref="PodDeletionCostReporter"/>). For silos running as Kubernetes pods with
    /// Kubernetes hosting, whose silo names are their pods' names; settings under <c>Kubernetes</c>.
    /// </summary>
    public static ISiloBuilder AddKubernetesPodDeletionCost(this ISiloBuilder builder)
    {
        builder.Services.AddKubernetesPodDeletionCost();
        return builder;
    }

    public static IServiceCollection AddKubernetesPodDeletionCost(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(PodDeletionCostReporter)))
        {
            return services;
        }

        services.AddOptions<KubernetesOptions>()
            .BindConfiguration(KubernetesOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Namespace),
                $"{KubernetesOptions.Section}:{nameof(KubernetesOptions.Namespace)} is not set, and neither {KubernetesOptions.PodNamespaceVariable} " +
                "nor the pod's service account gives it.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KubernetesOptions>, KubernetesOptionsDefaults>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesOptions>, KubernetesOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<KubernetesPodDeletionCostPublisher>();
        services.AddSingleton<PodDeletionCostReporter>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PodDeletionCostReporter>());
        return services;
    }
}
