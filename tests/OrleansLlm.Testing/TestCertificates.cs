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
    /// <summary>The name silo certificates carry (<c>Orleans:Tls:PeerName</c>).</summary>
    public const string SiloName = "orleansllm-silo";

    /// <summary>The name client certificates carry (<c>Orleans:Tls:ClientPeerName</c>).</summary>
    public const string ClientName = "orleansllm-client";

    private X509Certificate2 _ca = null!;

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

    /// <summary>A silo's certificate: server and client authentication, for <see cref="SiloName"/>, <c>localhost</c> and 127.0.0.1.</summary>
    public string SiloCertFile => Path.Combine(Directory, "silo.crt");

    public string SiloKeyFile => Path.Combine(Directory, "silo.key");

    /// <summary>A client's certificate: client authentication only, for <see cref="ClientName"/>.</summary>
    public string ClientCertFile => Path.Combine(Directory, "client.crt");

    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    public static TestCertificates Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "orleansllm-certs-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        var certificates = new TestCertificates(dir);
        var ca = CreateAuthority("OrleansLlm test CA");
        certificates._ca = ca;
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem());
        Issue(ca, certificates.CertFile, certificates.KeyFile, "localhost", IPAddress.Loopback);
        Issue(ca, certificates.OtherNameCertFile, certificates.OtherNameKeyFile, "other.example");
        certificates.IssueSilo(certificates.SiloCertFile, certificates.SiloKeyFile);
        Issue(ca, certificates.ClientCertFile, certificates.ClientKeyFile, ClientName, serverAuth: false);
        using var stranger = CreateAuthority("Someone else's CA");
        Issue(stranger, certificates.StrangerCertFile, certificates.StrangerKeyFile, "localhost", IPAddress.Loopback);
        return certificates;
    }

    /// <summary>Writes a new silo certificate of the same CA (a renewal): a new key, a new serial.</summary>
    public void IssueSilo(string certFile, string keyFile) =>
        Issue(_ca, certFile, keyFile, SiloName, serverAuth: true, "localhost", IPAddress.Loopback);

    public void Dispose()
    {
        _ca?.Dispose();
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

    // One certificate for both ends of a connection (server and client auth), as a silo's is; a client's has client auth only.
    private static void Issue(X509Certificate2 ca, string certFile, string keyFile, string dnsName, IPAddress? address = null) =>
        Issue(ca, certFile, keyFile, dnsName, serverAuth: true, null, address);

    private static void Issue(X509Certificate2 ca, string certFile, string keyFile, string dnsName, bool serverAuth, string? otherName = null, IPAddress? address = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        if (otherName is not null)
        {
            names.AddDnsName(otherName);
        }

        if (address is not null)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            serverAuth ? [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")] : [new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        // Written beside and renamed over: a reader never sees half a file (as with a Kubernetes Secret volume).
        File.WriteAllText(certFile + ".new", cert.ExportCertificatePem());
        File.WriteAllText(keyFile + ".new", key.ExportPkcs8PrivateKeyPem());
        File.Move(keyFile + ".new", keyFile, overwrite: true);
        File.Move(certFile + ".new", certFile, overwrite: true);
    }
}
