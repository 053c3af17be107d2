using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace OrleansLlm.Security;

/// <summary>
/// The certificate this end of the cluster presents and the CAs it requires of the other end, applied to Orleans' TLS
/// options the same way on silos and clients.
/// </summary>
public sealed class ClusterTrust : IDisposable
{
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2Collection _authorities;
    private readonly string? _peerName;

    private ClusterTrust(X509Certificate2 certificate, X509Certificate2Collection authorities, string? peerName)
    {
        Certificate = certificate;
        _authorities = authorities;
        _peerName = peerName;
    }

    public X509Certificate2 Certificate { get; }

    public int AuthorityCount => _authorities.Count;

    /// <summary>Reads the files named by <paramref name="options"/>, which <see cref="ClusterTlsOptionsValidator"/> has checked.</summary>
    /// <exception cref="CryptographicException">A file holds no PEM certificate or key, or the key is not the certificate's.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static ClusterTrust Load(ClusterTlsOptions options)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(options.CaFile!);
        var certificate = X509Certificate2.CreateFromPemFile(options.CertificateFile!, options.KeyFile!);
        return new ClusterTrust(certificate, authorities, string.IsNullOrWhiteSpace(options.PeerName) ? null : options.PeerName);
    }

    /// <summary>
    /// Both ends present their certificate on every connection, and each accepts the other only if
    /// <see cref="Accepts"/> does.
    /// </summary>
    public void Configure(TlsOptions tls)
    {
        tls.LocalCertificate = Certificate;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        // SslStream then builds the peer's chain against the cluster's CAs alone, with the usage each side needs (a
        // server's certificate for server authentication, a client's for client authentication). A fresh policy per
        // handshake, because SslStream adds to the one it is given.
        tls.OnAuthenticateAsServer = (_, server) =>
            ((SslServerAuthenticationOptions)server.SslServerAuthenticationOptions).CertificateChainPolicy = CreateChainPolicy();
        tls.OnAuthenticateAsClient = (_, client) =>
            ((SslClientAuthenticationOptions)client.SslClientAuthenticationOptions).CertificateChainPolicy = CreateChainPolicy();
        tls.RemoteCertificateValidation = (certificate, _, errors) => Accepts(certificate, errors);
    }

    /// <summary>
    /// A peer is a member if its chain ends at a cluster CA with the right usage and, when <c>PeerName</c> is set, its
    /// certificate carries that name. A name mismatch alone is forgiven: silos dial each other by address, which no
    /// shared certificate can name.
    /// </summary>
    public bool Accepts(X509Certificate2 peer, SslPolicyErrors errors) =>
        (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None
        && (_peerName is null || peer.MatchesHostname(_peerName, allowWildcards: true, allowCommonName: false));

    /// <summary>Trusts the cluster's CAs and nothing else. Revocation is not checked: a private CA publishes no list.</summary>
    public X509ChainPolicy CreateChainPolicy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(_authorities);
        return policy;
    }

    /// <returns>Why <paramref name="certificate"/> does not chain to a cluster CA (expired, unknown issuer, ...), or null if it does.</returns>
    public string? ChainErrors(X509Certificate2 certificate)
    {
        using var chain = new X509Chain { ChainPolicy = CreateChainPolicy() };
        return chain.Build(certificate)
            ? null
            : string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
    }

    /// <summary>Whether <paramref name="certificate"/> may be used for <paramref name="usage"/>: a certificate without the extension may serve any.</summary>
    public static bool AllowsUsage(X509Certificate2 certificate, Oid usage) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } extension
        || extension.EnhancedKeyUsages.Cast<Oid>().Any(u => u.Value == usage.Value);

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var authority in _authorities)
        {
            authority.Dispose();
        }
    }
}
