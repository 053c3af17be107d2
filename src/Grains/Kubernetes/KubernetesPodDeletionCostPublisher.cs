using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Kubernetes;

/// <summary>
/// Sets <c>controller.kubernetes.io/pod-deletion-cost</c> with a JSON merge patch of the pod's annotations, which
/// touches nothing else on the pod. Needs the <c>patch</c> verb on <c>pods</c> in the namespace.
/// </summary>
public sealed partial class KubernetesPodDeletionCostPublisher : IPodDeletionCostPublisher, IDisposable
{
    public const string Annotation = "controller.kubernetes.io/pod-deletion-cost";

    private readonly Lazy<k8s.Kubernetes> _client;
    private readonly string _namespace;
    private readonly ILogger<KubernetesPodDeletionCostPublisher> _logger;

    public KubernetesPodDeletionCostPublisher(IOptions<KubernetesOptions> options, ILogger<KubernetesPodDeletionCostPublisher> logger)
    {
        // The client is made on first use, so a silo that never hosts the coordinator never reads the service account.
        _client = new Lazy<k8s.Kubernetes>(() => new k8s.Kubernetes(options.Value.CreateClientConfiguration()));
        _namespace = options.Value.Namespace ?? throw new InvalidOperationException($"{KubernetesOptions.Section}:{nameof(KubernetesOptions.Namespace)} is not set.");
        _logger = logger;
    }

    public bool IsEnabled => true;

    /// <summary>The merge patch that sets a pod's deletion cost (Kubernetes wants the annotation as a string holding an int32).</summary>
    public static string Patch(int cost) =>
        "{\"metadata\":{\"annotations\":{\"" + Annotation + "\":\"" + cost.ToString(CultureInfo.InvariantCulture) + "\"}}}";

    public async Task<bool> PublishAsync(string pod, int cost, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Value.CoreV1.PatchNamespacedPodAsync(
                new V1Patch(Patch(cost), V1Patch.PatchType.MergePatch), pod, _namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            LogPodNotFound(_logger, pod, _namespace);
            return false;
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
