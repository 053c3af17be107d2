using System.Collections.Immutable;
using System.Net;
using OrleansLlm.Kubernetes;

namespace OrleansLlm.Tests.Kubernetes;

public sealed class KubernetesOptionsTests
{
    [Theory]
    [InlineData(null, "10.96.0.1", "worker-7d9f", true)]
    [InlineData(null, "10.96.0.1", null, false)]
    [InlineData(null, null, "worker-7d9f", false)]
    [InlineData(null, null, null, false)]
    [InlineData(false, "10.96.0.1", "worker-7d9f", false)]
    [InlineData(true, null, null, true)]
    public void IsEnabled_InAPodWithItsName_UnlessConfigured(bool? configured, string? serviceHost, string? podName, bool expected)
    {
        var options = new KubernetesOptions { Enabled = configured };
        var environment = new Dictionary<string, string?> { ["KUBERNETES_SERVICE_HOST"] = serviceHost, ["POD_NAME"] = podName };

        Assert.Equal(expected, options.IsEnabled(name => environment.GetValueOrDefault(name)));
    }

    [Fact]
    public void Validator_BadValues_NamesEveryKey()
    {
        var options = new KubernetesOptions { PodDeletionCostInterval = TimeSpan.Zero, ConfigFile = "/nonexistent/kubeconfig", Namespace = "two words" };

        var result = new KubernetesOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:PodDeletionCostInterval"));
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:ConfigFile"));
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:Namespace"));
        Assert.True(new KubernetesOptionsValidator().Validate(null, new KubernetesOptions()).Succeeded);
    }

    [Fact]
    public void Patch_IsAMergePatchOfOneStringAnnotation()
    {
        Assert.Equal("""{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"-12"}}}""", KubernetesPodDeletionCostPublisher.Patch(-12));
    }

    [Fact]
    public void Compute_ActiveSilosByPodName_DeadAndJoiningLeftOut()
    {
        var (a, b, dead, joining, restarted) = (Silo(1), Silo(2), Silo(3), Silo(4), Silo(5));
        var members = new[]
        {
            new ClusterMember(a, SiloStatus.Active, "pod-a"),
            new ClusterMember(b, SiloStatus.Active, "pod-b"),
            new ClusterMember(dead, SiloStatus.Dead, "pod-dead"),
            new ClusterMember(joining, SiloStatus.Joining, "pod-joining"),
            // The same pod under a new silo address, its container restarted, before the old one is declared dead.
            new ClusterMember(restarted, SiloStatus.Active, "pod-a"),
        }.ToImmutableDictionary(m => m.SiloAddress);
        var leases = new Dictionary<string, long>
        {
            [a.ToParsableString()] = 2,
            [dead.ToParsableString()] = 5,
            [restarted.ToParsableString()] = 1,
        };

        var costs = PodDeletionCostTracker.Compute(new ClusterMembershipSnapshot(members, new MembershipVersion(3)), leases);

        Assert.Equal(new Dictionary<string, int> { ["pod-a"] = 3, ["pod-b"] = 0 }, costs);
    }

    private static SiloAddress Silo(int n) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11110 + n), n);
}
