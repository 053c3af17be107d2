using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansLlm.Testing;

/// <summary>
/// A throwaway certificate authority and certificates it signed, written as PEM files: what an operator would get
/// from cert-manager or openssl, for tests of TLS between real processes.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>The CA certificate (PEM): what clients and servers are told to trust.</summary>
    public string CaFile => Path.Combine(Directory, "ca.crt");

    /// <summary>A certificate for <c>localhost</c> and <c>127.0.0.1</c>, signed by the CA (PEM), and its key.</summary>
    public string CertFile => Path.Combine(Directory, "tls.crt");

    public string KeyFile => Path.Combine(Directory, "tls.key");

    /// <summary>A second certificate from a CA nobody trusts: what a stranger presents.</summary>
    public string StrangerCertFile => Path.Combine(Directory, "stranger.crt");

    public string StrangerKeyFile => Path.Combine(Directory, "stranger.key");

    /// <summary>A certificate the same CA signed for another name, <c>other.example</c>: what another service of a shared CA holds.</summary>
    public string OtherNameCertFile => Path.Combine(Directory, "other.crt");

    public string OtherNameKeyFile => Path.Combine(Directory, "other.key");

    public static TestCertificates Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "orleansllm-certs-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        var certificates = new TestCertificates(dir);
        using var ca = CreateAuthority("OrleansLlm test CA");
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem());
        Issue(ca, certificates.CertFile, certificates.KeyFile, "localhost", IPAddress.Loopback);
        Issue(ca, certificates.OtherNameCertFile, certificates.OtherNameKeyFile, "other.example");
        using var stranger = CreateAuthority("Someone else's CA");
        Issue(stranger, certificates.StrangerCertFile, certificates.StrangerKeyFile, "localhost", IPAddress.Loopback);
        return certificates;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static X509Certificate2 CreateAuthority(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    // One certificate for both ends of a connection (server and client auth), as a cluster certificate is.
    private static void Issue(X509Certificate2 ca, string certFile, string keyFile, string dnsName, IPAddress? address = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        if (address is not null)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
