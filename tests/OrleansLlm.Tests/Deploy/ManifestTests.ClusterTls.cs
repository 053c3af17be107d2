using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using OrleansLlm.Client;
using OrleansLlm.Security;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The cluster's mutual TLS in the manifests: the silo and every client (the Jobs, the CLI pod) turn it on with the same
/// settings, read the files from the one Secret a cert-manager CA issuer or <c>kubectl create secret</c> writes, and
/// alone can read its key; the optional cert-manager component writes exactly that Secret. The files do not exist here,
/// so the TLS validator runs only on certificates made the way the component asks for them.
/// </summary>
public sealed partial class ManifestTests
{
    /// <summary>The silos' certificate: server and client authentication, the silos' name.</summary>
    public const string ClusterTlsSecret = "orleansllm-silo-tls";

    /// <summary>The clients' certificate (the Jobs, the CLI pod): client authentication only, the clients' name.</summary>
    public const string ClientTlsSecret = "orleansllm-client-tls";

    /// <summary>Redis' server certificate, of the same CA.</summary>
    public const string RedisTlsSecretName = "orleansllm-redis-tls";

    public const string CertManagerOverlay = "overlays/cpu-cert-manager";

    /// <summary>
    /// Which key of the Secret each file must come from: a <c>kubernetes.io/tls</c> Secret's certificate and key, and the
    /// CA that a cert-manager CA issuer adds (the walkthrough's <c>kubectl create secret</c> names the same three).
    /// </summary>
    internal static readonly (string Setting, Func<ClusterTlsOptions, string?> File, string Key)[] ClusterTlsFiles =
    [
        (nameof(ClusterTlsOptions.CertificateFile), o => o.CertificateFile, "tls.crt"),
        (nameof(ClusterTlsOptions.KeyFile), o => o.KeyFile, "tls.key"),
        (nameof(ClusterTlsOptions.CaFile), o => o.CaFile, "ca.crt"),
    ];

    private const string OurImages = "registry.example.com/orleansllm/";

    [SkippableTheory]
    [MemberData(nameof(PodSources))]
    public async Task ClusterTls_EverySiloAndClient_HasTheSilosSettings_ReadFromTheClusterSecret(string source)
    {
        var overlay = await RenderedManifests.RenderAsync("overlays/cpu");
        var silo = SiloTls(overlay);
        Assert.True(silo.Enabled, "the silo does not turn on Orleans__Tls__Enabled");
        Assert.Equal(UriHostNameType.Dns, Uri.CheckHostName(silo.PeerName));

        // A Job's or the CLI pod's Secrets come from the overlay: they run in the namespace it set up.
        var objects = source.StartsWith("overlays/", StringComparison.Ordinal)
            ? await RenderedManifests.RenderAsync(source)
            : new RenderedManifests([.. overlay.Objects, .. source == PodSecurityTests.CliSource ? [] : (await RenderedManifests.RenderAsync(source)).Objects]);
        var checkedContainers = 0;
        foreach (var pod in await PodSecurityTests.PodsOfAsync(source))
        {
            foreach (var container in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
            {
                var env = objects.Environment(container, pod.Metadata, "orleansllm");
                if (!container.Image.StartsWith(OurImages, StringComparison.Ordinal))
                {
                    // Ollama and Redis take no part in the cluster: they get neither the settings nor a silo's or client's key.
                    Assert.DoesNotContain(env.Keys, k => k.StartsWith("Orleans__Tls__", StringComparison.Ordinal));
                    Assert.DoesNotContain(container.VolumeMounts ?? [], m => pod.Spec.Volumes.Single(v => v.Name == m.Name).Secret?.SecretName is ClusterTlsSecret or ClientTlsSecret);
                    continue;
                }

                checkedContainers++;
                var config = Configuration(env);
                var tls = container.Name == "silo"
                    ? Bind<ClusterTlsOptions>(config, ClusterTlsOptions.Section)
                    : ClientSettings.From(config, redisOverride: null).Tls;
                Assert.Equivalent(silo, tls, strict: true);

                // A silo's own certificate, or a client's, which cannot join as a silo.
                var secret = container.Name == "silo" ? ClusterTlsSecret : ClientTlsSecret;
                foreach (var (setting, fileOf, key) in ClusterTlsFiles)
                {
                    var path = fileOf(tls!) ?? throw new Xunit.Sdk.XunitException($"{pod.Source} {container.Name}: no {setting}");
                    var file = SecretFileAt(pod, container, path);
                    Assert.True((secret, key, true) == (file.Secret, file.Key, file.ReadOnly),
                        $"{pod.Source} {container.Name}: {setting} {path} is key '{file.Key}' of Secret {file.Secret} (read-only: {file.ReadOnly}), not '{key}' of {secret}");
                    Assert.True(ReadableBy(pod, container, file.Mode), $"{pod.Source} {container.Name}: its user cannot read {path} (mode {Convert.ToString(file.Mode, 8)})");
                    Assert.True((file.Mode & 0b111) == 0, $"{pod.Source} {container.Name}: {path} is readable by every user (mode {Convert.ToString(file.Mode, 8)})");
                }
            }
        }

        Assert.True(checkedContainers > 0, $"{source} runs no silo or client");
    }

    [SkippableFact]
    public async Task CertManagerOverlay_IsTheCpuOverlayPlusTheComponent_WhoseCertificateWritesTheMountedSecret()
    {
        // Every check of the cpu overlay holds for it: it adds the component's objects and changes nothing else.
        var cpu = Documents(await Kustomize.RenderAsync("overlays/cpu"));
        var withComponent = Documents(await Kustomize.RenderAsync(CertManagerOverlay));
        Assert.Empty(cpu.Except(withComponent));
        var added = withComponent.Except(cpu).ToArray();
        Assert.Equal(6, added.Length);
        Assert.All(added, d => Assert.StartsWith($"apiVersion: {Certificate.ApiGroupVersion}\n", d, StringComparison.Ordinal));

        var m = await RenderedManifests.RenderAsync(CertManagerOverlay);
        AssertWritesTheClusterSecret(m, SiloTls(m));
        Assert.Equal(ClusterTlsSecret, SiloTlsSecret(m));
    }

    [SkippableFact]
    public async Task CertManagerComponent_CertificatesIssuedAsItAsks_PassTheSilosAndClientsChecks()
    {
        var m = await RenderedManifests.RenderAsync(CertManagerOverlay);
        var silo = SiloTls(m);
        foreach (var (secret, server) in new[] { (ClusterTlsSecret, true), (ClientTlsSecret, false) })
        {
            var cluster = m.All<Certificate>().Single(c => c.Spec.SecretName == secret);
            var ca = m.All<Certificate>().Single(c => c.Spec.SecretName == m.Single<Issuer>(cluster.Spec.IssuerRef.Name).Spec.Ca!.SecretName);

            // What cert-manager's CA issuer writes to the Secret: the certificate, its key (PKCS#1 encoding, the default:
            // SEC 1 for ECDSA) and the CA, under the keys the pods mount; the settings point at them here.
            var dir = Directory.CreateTempSubdirectory("orleansllm-cert-manager-").FullName;
            try
            {
                using var caKey = NewKey(ca.Spec.PrivateKey);
                var caRequest = new CertificateRequest(new X500DistinguishedName($"CN={ca.Spec.CommonName}"), caKey, HashAlgorithmName.SHA256);
                // isCA adds "cert sign" to the usages, which default to "digital signature" and "key encipherment".
                var isCa = ca.Spec.IsCA == true;
                caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, false, 0, critical: true));
                caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(
                    KeyUsages(ca.Spec.Usages ?? ["digital signature", "key encipherment"]) | (isCa ? X509KeyUsageFlags.KeyCertSign : X509KeyUsageFlags.None), critical: true));
                caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
                var now = DateTimeOffset.UtcNow;
                using var caCertificate = caRequest.CreateSelfSigned(now.AddMinutes(-5), now + GoDuration(ca.Spec.Duration!));

                using var key = NewKey(cluster.Spec.PrivateKey);
                var request = new CertificateRequest(new X500DistinguishedName($"CN={cluster.Spec.CommonName}"), key, HashAlgorithmName.SHA256);
                var names = new SubjectAlternativeNameBuilder();
                cluster.Spec.DnsNames!.ForEach(names.AddDnsName);
                request.CertificateExtensions.Add(names.Build());
                request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
                request.CertificateExtensions.Add(new X509KeyUsageExtension(KeyUsages(cluster.Spec.Usages!), critical: true));
                request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ExtendedKeyUsages(cluster.Spec.Usages!), critical: false));
                request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caCertificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
                using var certificate = request.Create(caCertificate, now.AddMinutes(-5), now + GoDuration(cluster.Spec.Duration!), [1, 2, 3, 4]);

                await File.WriteAllTextAsync(Path.Combine(dir, "tls.crt"), certificate.ExportCertificatePem());
                await File.WriteAllTextAsync(Path.Combine(dir, "tls.key"), key.ExportECPrivateKeyPem());
                await File.WriteAllTextAsync(Path.Combine(dir, "ca.crt"), caCertificate.ExportCertificatePem());

                var pod = new PodTemplate("silo", m.SiloDeployment.Spec.Template.Metadata, m.SiloPod);
                string Here(string path) => Path.Combine(dir, SecretFileAt(pod, m.SiloContainer, path).Key);
                var options = new ClusterTlsOptions
                {
                    Enabled = silo.Enabled,
                    CertificateFile = Here(silo.CertificateFile!),
                    KeyFile = Here(silo.KeyFile!),
                    CaFile = Here(silo.CaFile!),
                    PeerName = silo.PeerName,
                    ClientPeerName = silo.ClientPeerName,
                };
                var result = new ClusterTlsOptionsValidator(server).Validate(null, options);
                Assert.True(result.Succeeded, $"{secret} as a {(server ? "silo" : "client")}: {result.FailureMessage}");

                // A client's certificate is no silo's: the silo's own checks refuse it, as its silo port does.
                if (!server)
                {
                    Assert.True(new ClusterTlsOptionsValidator(server: true).Validate(null, options).Failed, $"{secret} passes as a silo's certificate");
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [SkippableFact]
    public async Task EveryKustomization_UnderOverlaysAndJobs_RendersAndParsesStrictly()
    {
        // What .ci/run renders: a new overlay or Job is checked by the strict parser too.
        var dirs = new[] { "overlays", "jobs" }
            .SelectMany(d => Directory.GetDirectories(Path.Combine(Kustomize.RepoRoot, "deploy", d)).Select(x => $"{d}/{Path.GetFileName(x)}"))
            .Order().ToArray();
        Assert.Contains(CertManagerOverlay, dirs);
        foreach (var dir in dirs)
        {
            Assert.NotEmpty((await RenderedManifests.RenderAsync(dir)).Objects);
        }
    }

    /// <summary>
    /// The CA bootstrap of the component, ending at a Certificate that writes the Secret the silo mounts, for both
    /// server and client authentication and with the name every peer asks for.
    /// </summary>
    internal static void AssertWritesTheClusterSecret(RenderedManifests m, ClusterTlsOptions silo)
    {
        Certificate Writing(string secret) => Assert.Single(m.All<Certificate>(), c => c.Spec.SecretName == secret);
        var siloCertificate = Writing(SiloTlsSecret(m));
        Assert.Equal(["client auth", "digital signature", "server auth"], (siloCertificate.Spec.Usages ?? []).Order());
        Assert.Contains(silo.PeerName, siloCertificate.Spec.DnsNames ?? []);

        // The clients' certificate: client authentication alone, so it is refused on the silo port.
        var client = Writing(ClientTlsSecret);
        Assert.Equal(["client auth", "digital signature"], (client.Spec.Usages ?? []).Order());
        Assert.Contains(silo.ClientPeerName, client.Spec.DnsNames ?? []);
        Assert.DoesNotContain(silo.PeerName, client.Spec.DnsNames ?? []);

        // Redis': server authentication, under every name silos, clients and KEDA dial it by.
        var redis = Writing(RedisTlsSecret(m));
        Assert.Equal(["digital signature", "server auth"], (redis.Spec.Usages ?? []).Order());
        var service = m.Single<V1Service>("orleansllm-redis");
        var dialled = new HashSet<string>(m.All<ScaledObject>().SelectMany(s => s.Spec.Triggers).Select(t => t.Metadata["address"].Split(':')[0]))
        {
            service.Metadata.Name,
            $"{service.Metadata.Name}.{service.Metadata.NamespaceProperty}.svc",
        };
        Assert.Superset(dialled, new HashSet<string>(redis.Spec.DnsNames ?? []));

        // Certificate -> CA Issuer -> CA Certificate -> self-signed Issuer, all in the silos' namespace, one CA for all.
        var issuers = new[] { siloCertificate, client, redis }.Select(IssuerOf).Distinct().ToArray();
        var issuer = m.Single<Issuer>(Assert.Single(issuers));
        foreach (var cluster in new[] { siloCertificate, client, redis })
        {
            Assert.NotEqual(true, cluster.Spec.IsCA);
            Assert.True(GoDuration(cluster.Spec.RenewBefore!) < GoDuration(cluster.Spec.Duration!), "renewBefore must fall within the certificate's life");
        }

        var caSecret = Assert.IsType<CaIssuer>(issuer.Spec.Ca).SecretName;
        var ca = Assert.Single(m.All<Certificate>(), c => c.Spec.SecretName == caSecret);
        Assert.True(ca.Spec.IsCA, $"Certificate {ca.Metadata.Name} signs for Issuer {issuer.Metadata.Name} but is no CA");
        Assert.NotNull(m.Single<Issuer>(IssuerOf(ca)).Spec.SelfSigned);
        Assert.All(m.All<Certificate>().Cast<IMetadata<V1ObjectMeta>>().Concat(m.All<Issuer>()),
            o => Assert.Equal(m.SiloDeployment.Metadata.NamespaceProperty, o.Metadata.NamespaceProperty));
    }

    private static string IssuerOf(Certificate certificate)
    {
        // A namespaced Issuer of cert-manager's own group: a ClusterIssuer would be shared beyond this cluster.
        Assert.Contains(certificate.Spec.IssuerRef.Kind, (string?[])[null, nameof(Issuer)]);
        Assert.Contains(certificate.Spec.IssuerRef.Group, (string?[])[null, "cert-manager.io"]);
        return certificate.Spec.IssuerRef.Name;
    }

    internal static ClusterTlsOptions SiloTls(RenderedManifests m) => Bind<ClusterTlsOptions>(SiloConfiguration(m), ClusterTlsOptions.Section);

    /// <summary>The Secret Redis' container reads its certificate from.</summary>
    internal static string RedisTlsSecret(RenderedManifests m)
    {
        var redis = m.Single<V1Deployment>("orleansllm-redis");
        var pod = new PodTemplate("redis", redis.Spec.Template.Metadata, redis.Spec.Template.Spec);
        return SecretFileAt(pod, redis.Spec.Template.Spec.Containers.Single(), "/etc/orleansllm/tls/tls.crt").Secret;
    }

    internal static string SiloTlsSecret(RenderedManifests m)
    {
        var pod = new PodTemplate("silo", m.SiloDeployment.Spec.Template.Metadata, m.SiloPod);
        return SecretFileAt(pod, m.SiloContainer, SiloTls(m).CertificateFile!).Secret;
    }

    private static IConfiguration Configuration(IReadOnlyDictionary<string, string> env) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(env.Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value)))
            .Build();

    /// <summary>The Secret key a container sees at <paramref name="path"/>, and the file's mode.</summary>
    internal static (string Secret, string Key, bool ReadOnly, int Mode) SecretFileAt(PodTemplate pod, V1Container container, string path)
    {
        var mount = (container.VolumeMounts ?? []).Where(v => path.StartsWith(v.MountPath + "/", StringComparison.Ordinal))
            .OrderByDescending(v => v.MountPath.Length).FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"{pod.Source} {container.Name}: {path} is on no volume");
        var secret = pod.Spec.Volumes.Single(v => v.Name == mount.Name).Secret
            ?? throw new Xunit.Sdk.XunitException($"{pod.Source} {container.Name}: {path} is on volume {mount.Name}, which is no Secret");
        var relative = path[(mount.MountPath.Length + 1)..];
        var item = secret.Items?.SingleOrDefault(i => i.Path == relative);
        if (secret.Items is not null && item is null)
        {
            throw new Xunit.Sdk.XunitException($"{pod.Source} {container.Name}: {path}: the volume {mount.Name} projects no item to {relative}");
        }

        return (secret.SecretName, item?.Key ?? relative, mount.ReadOnlyProperty == true, item?.Mode ?? secret.DefaultMode ?? 420);
    }

    /// <summary>
    /// Whether the container's user can read a file of a Secret volume: the kubelet makes it root's, of the group
    /// fsGroup when the pod sets one.
    /// </summary>
    private static bool ReadableBy(PodTemplate pod, V1Container container, int mode)
    {
        var user = container.SecurityContext?.RunAsUser ?? pod.Spec.SecurityContext?.RunAsUser
            ?? throw new Xunit.Sdk.XunitException($"{pod.Source} {container.Name}: no runAsUser, so who reads the files depends on the image");
        var groups = new[] { container.SecurityContext?.RunAsGroup ?? pod.Spec.SecurityContext?.RunAsGroup }
            .Concat((pod.Spec.SecurityContext?.SupplementalGroups ?? []).Select(g => (long?)g))
            .Append(pod.Spec.SecurityContext?.FsGroup).OfType<long>().ToHashSet();
        var fileGroup = pod.Spec.SecurityContext?.FsGroup ?? 0;
        return user == 0 || (groups.Contains(fileGroup) && (mode & 0b100_000) != 0) || (mode & 0b100) != 0;
    }

    private static HashSet<string> Documents(string yaml) =>
        [.. yaml.Split("\n---\n").Select(d => d.Trim('\n') + "\n")];

    private static ECDsa NewKey(CertificatePrivateKey? key)
    {
        Assert.Equal(("ECDSA", 256), (key?.Algorithm, key?.Size));
        return ECDsa.Create(ECCurve.NamedCurves.nistP256);
    }

    /// <summary>cert-manager's usage names (its KeyUsage type) as X.509 key usages; <c>cert sign</c> comes with isCA.</summary>
    private static X509KeyUsageFlags KeyUsages(IEnumerable<string> usages) =>
        usages.Aggregate(X509KeyUsageFlags.None, (flags, usage) => flags | usage switch
        {
            "digital signature" => X509KeyUsageFlags.DigitalSignature,
            "key encipherment" => X509KeyUsageFlags.KeyEncipherment,
            _ => X509KeyUsageFlags.None,
        });

    private static OidCollection ExtendedKeyUsages(IEnumerable<string> usages) =>
    [
        .. usages.Select(usage => usage switch
        {
            "server auth" => ClusterTrust.ServerAuthentication,
            "client auth" => ClusterTrust.ClientAuthentication,
            _ => null,
        }).OfType<Oid>(),
    ];

    /// <summary>A Go duration of whole hours, as the component writes them (<c>8760h</c>).</summary>
    private static TimeSpan GoDuration(string value) =>
        value.EndsWith('h') && int.TryParse(value[..^1], System.Globalization.CultureInfo.InvariantCulture, out var hours)
            ? TimeSpan.FromHours(hours)
            : throw new Xunit.Sdk.XunitException($"'{value}' is not a Go duration of whole hours");
}
