using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>A pod as the manifests describe it: a workload's pod template, or the docs' CLI pod.</summary>
/// <param name="Source">Where it comes from, e.g. <c>overlays/cpu Deployment/orleansllm-silo</c>.</param>
public sealed record PodTemplate(string Source, V1ObjectMeta Metadata, V1PodSpec Spec)
{
    /// <summary>Every container of the pod with the path Pod Security names it by, e.g. <c>spec.initContainers[ollama]</c>.</summary>
    public IEnumerable<ContainerView> Containers =>
        (Spec.Containers ?? []).Select(c => new ContainerView($"spec.containers[{c.Name}]", c.Name, c.SecurityContext, c.Ports, Handlers(c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, c.Lifecycle)))
            .Concat((Spec.InitContainers ?? []).Select(c => new ContainerView($"spec.initContainers[{c.Name}]", c.Name, c.SecurityContext, c.Ports, Handlers(c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, c.Lifecycle))))
            .Concat((Spec.EphemeralContainers ?? []).Select(c => new ContainerView($"spec.ephemeralContainers[{c.Name}]", c.Name, c.SecurityContext, c.Ports, Handlers(c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, c.Lifecycle))));

    /// <summary>All pod templates of rendered manifests: Deployments', Jobs' and bare Pods'.</summary>
    public static IEnumerable<PodTemplate> Of(string source, RenderedManifests manifests) =>
        manifests.All<V1Deployment>().Select(d => new PodTemplate($"{source} Deployment/{d.Metadata.Name}", d.Spec.Template.Metadata, d.Spec.Template.Spec))
            .Concat(manifests.All<V1Job>().Select(j => new PodTemplate($"{source} Job/{j.Metadata.Name}", j.Spec.Template.Metadata, j.Spec.Template.Spec)))
            .Concat(manifests.All<V1Pod>().Select(p => new PodTemplate($"{source} Pod/{p.Metadata.Name}", p.Metadata, p.Spec)));

    public override string ToString() => Source;

    private static IReadOnlyList<(string Name, V1HTTPGetAction? HttpGet, V1TCPSocketAction? TcpSocket)> Handlers(
        V1Probe? liveness, V1Probe? readiness, V1Probe? startup, V1Lifecycle? lifecycle) =>
        [
            ("livenessProbe", liveness?.HttpGet, liveness?.TcpSocket),
            ("readinessProbe", readiness?.HttpGet, readiness?.TcpSocket),
            ("startupProbe", startup?.HttpGet, startup?.TcpSocket),
            ("lifecycle.postStart", lifecycle?.PostStart?.HttpGet, lifecycle?.PostStart?.TcpSocket),
            ("lifecycle.preStop", lifecycle?.PreStop?.HttpGet, lifecycle?.PreStop?.TcpSocket),
        ];
}
