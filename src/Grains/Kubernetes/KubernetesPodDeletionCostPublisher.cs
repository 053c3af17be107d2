using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Kubernetes;

/// <summary>
/// Reads and sets a pod's <c>controller.kubernetes.io/pod-deletion-cost</c>; the write is a JSON merge patch of the
/// pod's annotations, which touches nothing else on the pod. Needs the <c>get</c> and <c>patch</c> verbs on
/// <c>pods</c> in the namespace.
/// </summary>
public sealed class KubernetesPodDeletionCostPublisher : IDisposable
{
    public const string Annotation = "controller.kubernetes.io/pod-deletion-cost";

    private readonly Lazy<k8s.Kubernetes> _client;

    public KubernetesPodDeletionCostPublisher(IOptions<KubernetesOptions> options)
    {
        // The client is made on first use: no I/O (reading the service account) while the silo is being built.
        _client = new Lazy<k8s.Kubernetes>(() => new k8s.Kubernetes(options.Value.CreateClientConfiguration()));
        Namespace = options.Value.Namespace ?? throw new InvalidOperationException($"{KubernetesOptions.Section}:{nameof(KubernetesOptions.Namespace)} is not set.");
    }

    public string Namespace { get; }

    /// <summary>The merge patch that sets a pod's deletion cost (Kubernetes wants the annotation as a string holding an int32).</summary>
    public static string Patch(int cost) =>
        "{\"metadata\":{\"annotations\":{\"" + Annotation + "\":\"" + cost.ToString(CultureInfo.InvariantCulture) + "\"}}}";

    /// <summary>The deletion cost the pod carries now.</summary>
    /// <returns>
    /// Whether the pod exists, and its annotation's value: null when it has none (Kubernetes then counts 0) or when
    /// the value is not a number. Other failures throw.
    /// </returns>
    public async Task<(bool Exists, int? Cost)> ReadAsync(string pod, CancellationToken cancellationToken)
    {
        try
        {
            var found = await _client.Value.CoreV1.ReadNamespacedPodAsync(pod, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return found.Metadata?.Annotations?.TryGetValue(Annotation, out var value) == true
                && int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var cost)
                ? (true, cost)
                : (true, null);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return (false, null);
        }
    }

    /// <summary>Sets the deletion cost of the pod <paramref name="pod"/>.</summary>
    /// <returns>False if the pod does not exist (any more); other failures throw.</returns>
    public async Task<bool> PublishAsync(string pod, int cost, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Value.CoreV1.PatchNamespacedPodAsync(
                new V1Patch(Patch(cost), V1Patch.PatchType.MergePatch), pod, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
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
