using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansLlm.Security;

/// <summary>
/// The certificate this end of the cluster presents and the CAs and names it requires of the other end, as read from
/// the files at one moment; <see cref="ClusterCredentials"/> holds the current one.
/// </summary>
public sealed class ClusterTrust : IDisposable
{
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2Collection _authorities;
    private readonly string? _peerName;
    private readonly string? _clientPeerName;

    private ClusterTrust(X509Certificate2 certificate, X509Certificate2Collection authorities, string? peerName, string? clientPeerName)
    {
        Certificate = certificate;
        _authorities = authorities;
        _peerName = peerName;
        _clientPeerName = clientPeerName;
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
        return new ClusterTrust(certificate, authorities, NameOrNull(options.PeerName), NameOrNull(options.ClientPeerName));
    }

    /// <summary>
    /// Whether <paramref name="peer"/> may be at the other end as <paramref name="expected"/>: its chain ends at a cluster
    /// CA with the usage the handshake asked for. A silo's certificate must also allow server authentication, which a
    /// client's does not, and carry <c>PeerName</c> when set; a client's must carry <c>ClientPeerName</c> when set. A
    /// name mismatch of the address dialled is forgiven: silos dial each other by address, which no certificate names.
    /// </summary>
    public bool Accepts(X509Certificate2 peer, SslPolicyErrors errors, ClusterPeer expected) =>
        (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None
        && expected switch
        {
            ClusterPeer.Silo => AllowsUsage(peer, ServerAuthentication) && Carries(peer, _peerName),
            _ => Carries(peer, _clientPeerName),
        };

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

    private static bool Carries(X509Certificate2 certificate, string? name) =>
        name is null || certificate.MatchesHostname(name, allowWildcards: true, allowCommonName: false);

    private static string? NameOrNull(string? name) => string.IsNullOrWhiteSpace(name) ? null : name;

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var authority in _authorities)
        {
            authority.Dispose();
        }
    }
}
