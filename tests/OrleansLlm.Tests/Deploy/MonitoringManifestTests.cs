using k8s;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// deploy/monitoring, the optional component, rendered into each overlay as a user would turn it on, and checked
/// against the silo pods it must scrape and the dashboard it must load.
/// </summary>
[Trait("Category", "Deploy")]
public sealed class MonitoringManifestTests
{
    public static TheoryData<string> Overlays => new() { "overlays/cpu", "overlays/gpu", ManifestTests.VllmOverlay };

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task PodMonitor_ScrapesMetricsOnEverySilosMetricsPort(string overlay)
    {
        var manifests = await RenderWithMonitoringAsync(overlay);
        var monitor = Assert.Single(manifests.All<PodMonitor>());
        var pod = manifests.SiloDeployment.Spec.Template;

        Assert.Equal(manifests.SiloDeployment.Metadata.NamespaceProperty, monitor.Metadata.NamespaceProperty);
        Assert.All(monitor.Spec.Selector.MatchLabels, label => Assert.Equal(label.Value, pod.Metadata.Labels[label.Key]));
        Assert.Null(monitor.Spec.Selector.MatchExpressions);
        var endpoint = Assert.Single(monitor.Spec.PodMetricsEndpoints);
        Assert.Equal("/metrics", endpoint.Path);

        // The named port is the silo container's, and it is the silo's metrics port (Metrics:Port), not its HTTP port.
        var port = Assert.Single(manifests.SiloContainer.Ports, p => p.Name == endpoint.Port);
        var env = manifests.Environment(manifests.SiloContainer, pod.Metadata, manifests.SiloDeployment.Metadata.NamespaceProperty);
        Assert.Equal(port.ContainerPort.ToString(), env["Metrics__Port"]);
        Assert.NotEqual(port.ContainerPort.ToString(), env["ASPNETCORE_HTTP_PORTS"]);
        Assert.DoesNotContain(manifests.SiloPod.InitContainers.SelectMany(c => c.Ports ?? []), p => p.Name == endpoint.Port);
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task DashboardConfigMap_HoldsTheDashboardForGrafanasSidecar(string overlay)
    {
        var manifests = await RenderWithMonitoringAsync(overlay);
        var map = Assert.Single(manifests.All<V1ConfigMap>(), m => m.Metadata.Labels?.ContainsKey("grafana_dashboard") == true);

        Assert.Equal("1", map.Metadata.Labels["grafana_dashboard"]);
        Assert.Equal(manifests.SiloDeployment.Metadata.NamespaceProperty, map.Metadata.NamespaceProperty);
        var (file, json) = Assert.Single(map.Data);
        Assert.EndsWith(".json", file);
        Assert.Equal(await File.ReadAllTextAsync(GrafanaDashboardTests.DashboardFile), json);
    }

    // As docs/kubernetes.md says to turn it on: an overlay with the component added.
    internal static async Task<RenderedManifests> RenderWithMonitoringAsync(string overlay)
    {
        var dir = Path.Combine(Path.GetTempPath(), "orleansllm-monitoring-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var deploy = Path.GetRelativePath(dir, Kustomize.DeployRoot);
            await File.WriteAllTextAsync(Path.Combine(dir, "kustomization.yaml"), $"""
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - {deploy}/{overlay}
                components:
                  - {deploy}/monitoring
                """);
            return RenderedManifests.Parse(await Kustomize.RenderAsync(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
