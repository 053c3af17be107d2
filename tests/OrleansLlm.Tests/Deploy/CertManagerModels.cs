using k8s;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

// cert-manager's custom resources are not in KubernetesClient's model either: these typed classes stand in for the
// fields deploy/components/cert-manager uses (from cert-manager's apis/certmanager/v1), so that strict parsing rejects
// a misspelt field (a "dnsName" that a cluster's cert-manager would refuse, or a "usage" it would ignore).

public sealed class Certificate : IKubernetesObject<V1ObjectMeta>
{
    public const string ApiGroupVersion = "cert-manager.io/v1";

    public string ApiVersion { get; set; } = ApiGroupVersion;

    public string Kind { get; set; } = nameof(Certificate);

    public V1ObjectMeta Metadata { get; set; } = new();

    public CertificateSpec Spec { get; set; } = new();
}

public sealed class CertificateSpec
{
    public string SecretName { get; set; } = "";

    public string? CommonName { get; set; }

    public List<string>? DnsNames { get; set; }

    public List<string>? IpAddresses { get; set; }

    public List<string>? Uris { get; set; }

    /// <summary>Go durations, e.g. <c>8760h</c>.</summary>
    public string? Duration { get; set; }

    public string? RenewBefore { get; set; }

    public bool? IsCA { get; set; }

    /// <summary>cert-manager's names, e.g. <c>server auth</c>; without any, <c>digital signature</c> and <c>key encipherment</c>.</summary>
    public List<string>? Usages { get; set; }

    public CertificatePrivateKey? PrivateKey { get; set; }

    public IssuerReference IssuerRef { get; set; } = new();
}

public sealed class CertificatePrivateKey
{
    public string? Algorithm { get; set; }

    public int? Size { get; set; }

    public string? Encoding { get; set; }

    public string? RotationPolicy { get; set; }
}

public sealed class IssuerReference
{
    public string Name { get; set; } = "";

    public string? Kind { get; set; }

    public string? Group { get; set; }
}

public sealed class Issuer : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = Certificate.ApiGroupVersion;

    public string Kind { get; set; } = nameof(Issuer);

    public V1ObjectMeta Metadata { get; set; } = new();

    public IssuerSpec Spec { get; set; } = new();
}

public sealed class IssuerSpec
{
    public SelfSignedIssuer? SelfSigned { get; set; }

    public CaIssuer? Ca { get; set; }
}

public sealed class SelfSignedIssuer
{
    public List<string>? CrlDistributionPoints { get; set; }
}

public sealed class CaIssuer
{
    public string SecretName { get; set; } = "";

    public List<string>? CrlDistributionPoints { get; set; }

    public List<string>? OcspServers { get; set; }
}
