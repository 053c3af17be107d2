using System.Text;
using k8s.Models;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// Every pod template of every overlay and Job, and the docs' CLI pod, passes the Pod Security "restricted" profile
/// that the namespace enforces: one test per control (<see cref="PodSecurityStandards"/>), each run on every source,
/// and one counter-example per control to show the rule can fail.
/// </summary>
[Trait("Category", "Deploy")]
public sealed class PodSecurityTests(ITestOutputHelper output)
{
    public const string CliSource = "cli";

    // The vllm overlay passes every control too, with no exception: the vllm image's default user is root, so its
    // container names the image's own non-root user (UID 2000); its /dev/shm is an emptyDir (medium Memory), not
    // hostIPC (deploy/components/vllm/vllm.yaml).
    public static readonly string[] SourceNames = ["overlays/cpu", "overlays/gpu", ManifestTests.VllmOverlay, "jobs/submit-cities", "jobs/results", CliSource];

    public static TheoryData<string> Sources => new(SourceNames);

    public static TheoryData<string> Rules => new(PodSecurityStandards.RestrictedRules.Select(r => r.ToString()));

    /// <summary>The pod templates of a kustomization under deploy/, or the CLI pod.</summary>
    public static async Task<IReadOnlyList<PodTemplate>> PodsOfAsync(string source) =>
        source == CliSource
            ? [CliPod.FromRepository("registry.example.com/orleansllm/client:0.1.0", ["status"])]
            : [.. PodTemplate.Of(source, await RenderedManifests.RenderAsync(source))];

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_HostProcess(string source) => AssertPassesAsync(PodSecurityStandards.HostProcess, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_HostNamespaces(string source) => AssertPassesAsync(PodSecurityStandards.HostNamespaces, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_PrivilegedContainers(string source) => AssertPassesAsync(PodSecurityStandards.PrivilegedContainers, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_Capabilities(string source) => AssertPassesAsync(PodSecurityStandards.Capabilities, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_HostPathVolumes(string source) => AssertPassesAsync(PodSecurityStandards.HostPathVolumes, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_HostPorts(string source) => AssertPassesAsync(PodSecurityStandards.HostPorts, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_HostProbesAndLifecycleHooks(string source) => AssertPassesAsync(PodSecurityStandards.HostProbesAndLifecycleHooks, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_AppArmor(string source) => AssertPassesAsync(PodSecurityStandards.AppArmor, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_SeLinux(string source) => AssertPassesAsync(PodSecurityStandards.SeLinux, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_ProcMountType(string source) => AssertPassesAsync(PodSecurityStandards.ProcMountType, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_Seccomp(string source) => AssertPassesAsync(PodSecurityStandards.SeccompBaseline, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Baseline_Sysctls(string source) => AssertPassesAsync(PodSecurityStandards.Sysctls, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Restricted_VolumeTypes(string source) => AssertPassesAsync(PodSecurityStandards.VolumeTypes, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Restricted_PrivilegeEscalation(string source) => AssertPassesAsync(PodSecurityStandards.PrivilegeEscalation, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Restricted_RunningAsNonRoot(string source) => AssertPassesAsync(PodSecurityStandards.RunningAsNonRoot, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Restricted_RunningAsNonRootUser(string source) => AssertPassesAsync(PodSecurityStandards.RunningAsNonRootUser, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Restricted_Seccomp(string source) => AssertPassesAsync(PodSecurityStandards.SeccompRestricted, source);

    [SkippableTheory, MemberData(nameof(Sources))]
    public Task Restricted_Capabilities(string source) => AssertPassesAsync(PodSecurityStandards.CapabilitiesRestricted, source);

    [SkippableFact]
    public async Task Namespace_EnforcesTheRestrictedProfile()
    {
        foreach (var overlay in (string[])["overlays/cpu", "overlays/gpu", ManifestTests.VllmOverlay])
        {
            var ns = Assert.Single((await RenderedManifests.RenderAsync(overlay)).All<V1Namespace>());
            Assert.Equal("restricted", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
            Assert.Equal("latest", ns.Metadata.Labels["pod-security.kubernetes.io/enforce-version"]);
        }

        Assert.Equal(18, PodSecurityStandards.RestrictedRules.Count);
        Assert.Equal(12, PodSecurityStandards.BaselineRules.Count);
    }

    /// <summary>Each rule rejects a pod that breaks its control, and only its control is needed to say so.</summary>
    [Theory, MemberData(nameof(Rules))]
    public void Rule_RejectsItsCounterExample(string rule)
    {
        var check = PodSecurityStandards.RestrictedRules.Single(r => r.ToString() == rule);
        var good = Compliant();
        Assert.Empty(PodSecurityStandards.RestrictedRules.SelectMany(r => r.Violations(good)));

        var bad = Compliant();
        CounterExamples[check.Control + "/" + check.Profile](bad);
        var violations = check.Violations(bad).ToArray();
        Assert.NotEmpty(violations);
        output.WriteLine($"{rule}: {string.Join("; ", violations)}");
    }

    /// <summary>The table of the restricted checks per container (docs/kubernetes.md, "Pod Security").</summary>
    [SkippableFact]
    public async Task EveryContainer_PassesEveryRestrictedCheck_Table()
    {
        var rows = new StringBuilder("| source | container | " + string.Join(" | ", PodSecurityStandards.RestrictedRules.Skip(PodSecurityStandards.BaselineRules.Count).Select(r => r.Control)) + " | baseline (12) |\n");
        foreach (var source in SourceNames)
        {
            foreach (var pod in await PodsOfAsync(source))
            {
                foreach (var container in pod.Containers)
                {
                    var only = pod with { Spec = OnlyContainer(pod.Spec, container.Name) };
                    string Mark(IEnumerable<PodSecurityRule> rules) => rules.All(r => !r.Violations(only).Any()) ? "pass" : "FAIL";
                    var restricted = PodSecurityStandards.RestrictedRules.Skip(PodSecurityStandards.BaselineRules.Count).Select(r => Mark([r]));
                    rows.Append($"| {pod.Source} | {container.Name} | {string.Join(" | ", restricted)} | {Mark(PodSecurityStandards.BaselineRules)} |\n");
                    Assert.Empty(PodSecurityStandards.RestrictedRules.SelectMany(r => r.Violations(only)));
                }
            }
        }

        output.WriteLine(rows.ToString());
    }

    private static async Task AssertPassesAsync(PodSecurityRule rule, string source)
    {
        var pods = await PodsOfAsync(source);
        Assert.NotEmpty(pods);
        var violations = pods.SelectMany(p => rule.Violations(p).Select(v => $"{p.Source}: {v}")).ToArray();
        Assert.True(violations.Length == 0, $"{rule} is broken:\n{string.Join("\n", violations)}");
    }

    private static V1PodSpec OnlyContainer(V1PodSpec spec, string name) => new()
    {
        SecurityContext = spec.SecurityContext,
        Volumes = spec.Volumes,
        HostNetwork = spec.HostNetwork,
        HostPID = spec.HostPID,
        HostIPC = spec.HostIPC,
        Containers = [.. (spec.Containers ?? []).Where(c => c.Name == name)],
        InitContainers = [.. (spec.InitContainers ?? []).Where(c => c.Name == name)],
    };

    private static PodTemplate Compliant() => new("counter-example", new V1ObjectMeta { Name = "p" }, new V1PodSpec
    {
        SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } },
        Containers =
        [
            new V1Container
            {
                Name = "app",
                Ports = [new V1ContainerPort { ContainerPort = 8080 }],
                LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Port = 8080, Path = "/" } },
                SecurityContext = new V1SecurityContext
                {
                    AllowPrivilegeEscalation = false,
                    Capabilities = new V1Capabilities { Drop = ["ALL"] },
                },
            },
        ],
        Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
    });

    private static V1SecurityContext App(PodTemplate pod) => pod.Spec.Containers[0].SecurityContext;

    private static readonly Dictionary<string, Action<PodTemplate>> CounterExamples = new()
    {
        ["HostProcess/baseline"] = p => App(p).WindowsOptions = new V1WindowsSecurityContextOptions { HostProcess = true },
        ["Host Namespaces/baseline"] = p => p.Spec.HostPID = true,
        ["Privileged Containers/baseline"] = p => App(p).Privileged = true,
        ["Capabilities/baseline"] = p => App(p).Capabilities.Add = ["SYS_ADMIN"],
        ["HostPath Volumes/baseline"] = p => p.Spec.Volumes.Add(new V1Volume { Name = "host", HostPath = new V1HostPathVolumeSource { Path = "/var/run" } }),
        ["Host Ports/baseline"] = p => p.Spec.Containers[0].Ports[0].HostPort = 8080,
        ["Host Probes / Lifecycle Hooks/baseline"] = p => p.Spec.Containers[0].LivenessProbe.HttpGet.Host = "169.254.169.254",
        ["AppArmor/baseline"] = p => App(p).AppArmorProfile = new V1AppArmorProfile { Type = "Unconfined" },
        ["SELinux/baseline"] = p => App(p).SeLinuxOptions = new V1SELinuxOptions { Type = "spc_t" },
        ["/proc Mount Type/baseline"] = p => App(p).ProcMount = "Unmasked",
        ["Seccomp/baseline"] = p => App(p).SeccompProfile = new V1SeccompProfile { Type = "Unconfined" },
        ["Sysctls/baseline"] = p => p.Spec.SecurityContext.Sysctls = [new V1Sysctl { Name = "kernel.msgmax", Value = "65536" }],
        ["Volume Types/restricted"] = p => p.Spec.Volumes.Add(new V1Volume { Name = "nfs", Nfs = new V1NFSVolumeSource { Path = "/export", Server = "nfs.example.com" } }),
        ["Privilege Escalation/restricted"] = p => App(p).AllowPrivilegeEscalation = null,
        ["Running as Non-root/restricted"] = p => p.Spec.SecurityContext.RunAsNonRoot = null,
        ["Running as Non-root user/restricted"] = p => App(p).RunAsUser = 0,
        ["Seccomp/restricted"] = p => p.Spec.SecurityContext.SeccompProfile = null,
        ["Capabilities/restricted"] = p => App(p).Capabilities.Drop = ["NET_RAW"],
    };
}
