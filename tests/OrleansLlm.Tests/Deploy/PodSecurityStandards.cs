using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The Pod Security Standards' "baseline" and "restricted" controls, written from
/// https://kubernetes.io/docs/concepts/security/pod-security-standards/ : one rule per control of the page's tables,
/// each checking exactly the fields the page lists against the values it allows. Restricted is every baseline rule
/// plus its own. The namespace enforces "restricted" (deploy/base/namespace.yaml); these let a test say why a pod
/// would be rejected without a cluster.
/// </summary>
public static class PodSecurityStandards
{
    public const string Baseline = "baseline";

    public const string Restricted = "restricted";

    private static readonly HashSet<string> BaselineCapabilities =
    [
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP",
        "SETUID", "SYS_CHROOT",
    ];

    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    ];

    private static readonly HashSet<string?> SeLinuxTypes = [null, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    /// <summary>Windows HostProcess containers have privileged access to the node.</summary>
    public static readonly PodSecurityRule HostProcess = new(Baseline, "HostProcess", pod =>
        Check("spec.securityContext.windowsOptions.hostProcess", pod.Spec.SecurityContext?.WindowsOptions?.HostProcess, v => v is null or false)
            .Concat(pod.Containers.SelectMany(c =>
                Check($"{c.Path}.securityContext.windowsOptions.hostProcess", c.SecurityContext?.WindowsOptions?.HostProcess, v => v is null or false))));

    /// <summary>Sharing the host namespaces must be disallowed.</summary>
    public static readonly PodSecurityRule HostNamespaces = new(Baseline, "Host Namespaces", pod =>
        Check("spec.hostNetwork", pod.Spec.HostNetwork, v => v is null or false)
            .Concat(Check("spec.hostPID", pod.Spec.HostPID, v => v is null or false))
            .Concat(Check("spec.hostIPC", pod.Spec.HostIPC, v => v is null or false)));

    /// <summary>Privileged pods disable most security mechanisms.</summary>
    public static readonly PodSecurityRule PrivilegedContainers = new(Baseline, "Privileged Containers", pod =>
        pod.Containers.SelectMany(c => Check($"{c.Path}.securityContext.privileged", c.SecurityContext?.Privileged, v => v is null or false)));

    /// <summary>Adding capabilities beyond this list must be disallowed.</summary>
    public static readonly PodSecurityRule Capabilities = new(Baseline, "Capabilities", pod =>
        pod.Containers.SelectMany(c => (c.SecurityContext?.Capabilities?.Add ?? [])
            .Where(cap => !BaselineCapabilities.Contains(cap))
            .Select(cap => $"{c.Path}.securityContext.capabilities.add: {cap} is not in the baseline's list")));

    /// <summary>HostPath volumes must be forbidden.</summary>
    public static readonly PodSecurityRule HostPathVolumes = new(Baseline, "HostPath Volumes", pod =>
        (pod.Spec.Volumes ?? []).Where(v => v.HostPath is not null).Select(v => $"spec.volumes[{v.Name}].hostPath is set"));

    /// <summary>HostPorts should be disallowed entirely (the page allows a known list; this project knows none).</summary>
    public static readonly PodSecurityRule HostPorts = new(Baseline, "Host Ports", pod =>
        pod.Containers.SelectMany(c => (c.Ports ?? [])
            .Where(p => p.HostPort is not (null or 0))
            .Select(p => $"{c.Path}.ports[{p.ContainerPort}].hostPort is {p.HostPort}")));

    /// <summary>The host field of probes and lifecycle hooks must not be set (Kubernetes 1.34+).</summary>
    public static readonly PodSecurityRule HostProbesAndLifecycleHooks = new(Baseline, "Host Probes / Lifecycle Hooks", pod =>
        pod.Containers.SelectMany(c => c.Handlers.SelectMany(h =>
            Check($"{c.Path}.{h.Name}.httpGet.host", h.HttpGet?.Host, string.IsNullOrEmpty)
                .Concat(Check($"{c.Path}.{h.Name}.tcpSocket.host", h.TcpSocket?.Host, string.IsNullOrEmpty)))));

    /// <summary>The default AppArmor profile may not be overridden or disabled.</summary>
    public static readonly PodSecurityRule AppArmor = new(Baseline, "AppArmor", pod =>
        Check("spec.securityContext.appArmorProfile.type", pod.Spec.SecurityContext?.AppArmorProfile?.Type, v => v is null or "RuntimeDefault" or "Localhost")
            .Concat(pod.Containers.SelectMany(c =>
                Check($"{c.Path}.securityContext.appArmorProfile.type", c.SecurityContext?.AppArmorProfile?.Type, v => v is null or "RuntimeDefault" or "Localhost")))
            .Concat((pod.Metadata?.Annotations ?? new Dictionary<string, string>())
                .Where(a => a.Key.StartsWith("container.apparmor.security.beta.kubernetes.io/", StringComparison.Ordinal))
                .Where(a => a.Value != "runtime/default" && !a.Value.StartsWith("localhost/", StringComparison.Ordinal))
                .Select(a => $"metadata.annotations['{a.Key}'] is {a.Value}")));

    /// <summary>Setting custom SELinux options is disallowed: only the container types, no user or role.</summary>
    public static readonly PodSecurityRule SeLinux = new(Baseline, "SELinux", pod =>
        SeLinuxViolations("spec.securityContext.seLinuxOptions", pod.Spec.SecurityContext?.SeLinuxOptions)
            .Concat(pod.Containers.SelectMany(c => SeLinuxViolations($"{c.Path}.securityContext.seLinuxOptions", c.SecurityContext?.SeLinuxOptions))));

    /// <summary>The default /proc masks must be kept.</summary>
    public static readonly PodSecurityRule ProcMountType = new(Baseline, "/proc Mount Type", pod =>
        pod.Containers.SelectMany(c => Check($"{c.Path}.securityContext.procMount", c.SecurityContext?.ProcMount, v => v is null or "Default")));

    /// <summary>Seccomp may not be explicitly set to Unconfined.</summary>
    public static readonly PodSecurityRule SeccompBaseline = new(Baseline, "Seccomp", pod =>
        Check("spec.securityContext.seccompProfile.type", pod.Spec.SecurityContext?.SeccompProfile?.Type, v => v is not "Unconfined")
            .Concat(pod.Containers.SelectMany(c =>
                Check($"{c.Path}.securityContext.seccompProfile.type", c.SecurityContext?.SeccompProfile?.Type, v => v is not "Unconfined"))));

    /// <summary>Only the "safe" sysctls, namespaced and isolated from other pods.</summary>
    public static readonly PodSecurityRule Sysctls = new(Baseline, "Sysctls", pod =>
        (pod.Spec.SecurityContext?.Sysctls ?? [])
            .Where(s => !SafeSysctls.Contains(s.Name))
            .Select(s => $"spec.securityContext.sysctls[{s.Name}] is not a safe sysctl"));

    /// <summary>Only core volume types and those defined through PersistentVolumes.</summary>
    public static readonly PodSecurityRule VolumeTypes = new(Restricted, "Volume Types", pod =>
        (pod.Spec.Volumes ?? []).Where(v => !IsRestrictedVolume(v)).Select(v => $"spec.volumes[{v.Name}] is not of an allowed type"));

    /// <summary>Privilege escalation (through set-user-ID or set-group-ID files) must not be allowed: false, explicitly.</summary>
    public static readonly PodSecurityRule PrivilegeEscalation = new(Restricted, "Privilege Escalation", pod =>
        pod.Containers.SelectMany(c => Check($"{c.Path}.securityContext.allowPrivilegeEscalation", c.SecurityContext?.AllowPrivilegeEscalation, v => v is false)));

    /// <summary>Containers must be required to run as non-root: runAsNonRoot true on the pod, or on every container.</summary>
    public static readonly PodSecurityRule RunningAsNonRoot = new(Restricted, "Running as Non-root", pod =>
    {
        var podLevel = pod.Spec.SecurityContext?.RunAsNonRoot;
        return Check("spec.securityContext.runAsNonRoot", podLevel, v => v is null or true)
            .Concat(pod.Containers.SelectMany(c => Check(
                $"{c.Path}.securityContext.runAsNonRoot",
                c.SecurityContext?.RunAsNonRoot,
                v => v is true || (v is null && podLevel is true))));
    });

    /// <summary>Containers must not set runAsUser to 0.</summary>
    public static readonly PodSecurityRule RunningAsNonRootUser = new(Restricted, "Running as Non-root user", pod =>
        Check("spec.securityContext.runAsUser", pod.Spec.SecurityContext?.RunAsUser, v => v is not 0)
            .Concat(pod.Containers.SelectMany(c => Check($"{c.Path}.securityContext.runAsUser", c.SecurityContext?.RunAsUser, v => v is not 0))));

    /// <summary>Seccomp must be RuntimeDefault or Localhost: on the pod, or on every container.</summary>
    public static readonly PodSecurityRule SeccompRestricted = new(Restricted, "Seccomp", pod =>
    {
        var podLevel = pod.Spec.SecurityContext?.SeccompProfile?.Type;
        return Check("spec.securityContext.seccompProfile.type", podLevel, v => v is null or "RuntimeDefault" or "Localhost")
            .Concat(pod.Containers.SelectMany(c => Check(
                $"{c.Path}.securityContext.seccompProfile.type",
                c.SecurityContext?.SeccompProfile?.Type,
                v => v is "RuntimeDefault" or "Localhost" || (v is null && podLevel is "RuntimeDefault" or "Localhost"))));
    });

    /// <summary>Containers must drop ALL capabilities, and may add back only NET_BIND_SERVICE.</summary>
    public static readonly PodSecurityRule CapabilitiesRestricted = new(Restricted, "Capabilities", pod =>
        pod.Containers.SelectMany(c =>
            Check($"{c.Path}.securityContext.capabilities.drop", c.SecurityContext?.Capabilities?.Drop, v => v?.Contains("ALL") == true)
                .Concat((c.SecurityContext?.Capabilities?.Add ?? [])
                    .Where(cap => cap != "NET_BIND_SERVICE")
                    .Select(cap => $"{c.Path}.securityContext.capabilities.add: {cap} (only NET_BIND_SERVICE may be added)"))));

    /// <summary>Every control of the baseline profile.</summary>
    public static IReadOnlyList<PodSecurityRule> BaselineRules { get; } =
    [
        HostProcess, HostNamespaces, PrivilegedContainers, Capabilities, HostPathVolumes, HostPorts, HostProbesAndLifecycleHooks,
        AppArmor, SeLinux, ProcMountType, SeccompBaseline, Sysctls,
    ];

    /// <summary>Every control of the restricted profile, the baseline's included.</summary>
    public static IReadOnlyList<PodSecurityRule> RestrictedRules { get; } =
    [
        .. BaselineRules, VolumeTypes, PrivilegeEscalation, RunningAsNonRoot, RunningAsNonRootUser, SeccompRestricted, CapabilitiesRestricted,
    ];

    // configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret: and nothing else set.
    private static bool IsRestrictedVolume(V1Volume v) =>
        (v.ConfigMap ?? v.Csi ?? v.DownwardAPI ?? v.EmptyDir ?? v.Ephemeral ?? v.PersistentVolumeClaim ?? v.Projected ?? (object?)v.Secret) is not null
        && v is
        {
            HostPath: null, GcePersistentDisk: null, AwsElasticBlockStore: null, GitRepo: null, Nfs: null, Iscsi: null, Glusterfs: null,
            Rbd: null, FlexVolume: null, Cinder: null, Cephfs: null, Flocker: null, Fc: null, AzureFile: null, VsphereVolume: null,
            Quobyte: null, AzureDisk: null, PortworxVolume: null, ScaleIO: null, Storageos: null, PhotonPersistentDisk: null, Image: null,
        };

    private static IEnumerable<string> SeLinuxViolations(string path, V1SELinuxOptions? options) =>
        Check($"{path}.type", options?.Type, SeLinuxTypes.Contains)
            .Concat(Check($"{path}.user", options?.User, string.IsNullOrEmpty))
            .Concat(Check($"{path}.role", options?.Role, string.IsNullOrEmpty));

    private static IEnumerable<string> Check<T>(string field, T value, Func<T, bool> allowed)
    {
        if (!allowed(value))
        {
            yield return $"{field} is {Describe(value)}";
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "not set",
        IEnumerable<string> list => $"[{string.Join(", ", list)}]",
        _ => value.ToString()!,
    };
}
