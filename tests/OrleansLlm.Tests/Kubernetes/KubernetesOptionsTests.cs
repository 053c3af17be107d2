using OrleansLlm.Kubernetes;

namespace OrleansLlm.Tests.Kubernetes;

[Trait("Category", "Unit")]
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
        var options = new KubernetesOptions
        {
            PodDeletionCostInterval = TimeSpan.Zero,
            PodDeletionCostIdleAfter = TimeSpan.FromSeconds(-1),
            ConfigFile = "/nonexistent/kubeconfig",
            Namespace = "two words",
        };

        var result = new KubernetesOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:PodDeletionCostInterval"));
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:PodDeletionCostIdleAfter"));
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:ConfigFile"));
        Assert.Contains(result.Failures, f => f.Contains("Kubernetes:Namespace"));
        Assert.True(new KubernetesOptionsValidator().Validate(null, new KubernetesOptions()).Succeeded);
    }

    [Fact]
    public void Patch_IsAMergePatchOfOneStringAnnotation()
    {
        Assert.Equal("""{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"-12"}}}""", KubernetesPodDeletionCostPublisher.Patch(-12));
    }

    [Theory]
    [InlineData(null, 3, null, 0, null)]
    [InlineData(WorkerState.Active, 0, null, 60, PodDeletionCostBucket.Idle)]
    [InlineData(WorkerState.Active, 2, PodDeletionCostBucket.Idle, 60, PodDeletionCostBucket.Busy)]
    [InlineData(WorkerState.Active, 0, PodDeletionCostBucket.Busy, 10, PodDeletionCostBucket.Busy)]
    [InlineData(WorkerState.Active, 0, PodDeletionCostBucket.Busy, 30, PodDeletionCostBucket.Idle)]
    [InlineData(WorkerState.Active, 0, PodDeletionCostBucket.Idle, 10, PodDeletionCostBucket.Idle)]
    [InlineData(WorkerState.Draining, 2, PodDeletionCostBucket.Busy, 0, PodDeletionCostBucket.Draining)]
    [InlineData(WorkerState.Drained, 0, PodDeletionCostBucket.Draining, 60, PodDeletionCostBucket.Draining)]
    public void Classify_BusyUntilIdleForIdleAfter_DrainingWins(WorkerState? state, int inFlight, PodDeletionCostBucket? current, int secondsSinceBusy, PodDeletionCostBucket? expected) =>
        Assert.Equal(expected, PodDeletionCostReporter.Classify(state, inFlight, current, TimeSpan.FromSeconds(secondsSinceBusy), idleAfter: TimeSpan.FromSeconds(30)));

    [Fact]
    public void Buckets_DrainingCheapestBusyDearest_IdleIsAPodWithoutTheAnnotation()
    {
        Assert.True((int)PodDeletionCostBucket.Draining < (int)PodDeletionCostBucket.Idle);
        Assert.True((int)PodDeletionCostBucket.Idle < (int)PodDeletionCostBucket.Busy);
        Assert.Equal(0, (int)PodDeletionCostBucket.Idle);
    }
}
