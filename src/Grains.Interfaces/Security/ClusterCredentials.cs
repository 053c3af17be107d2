using System.Net.Security;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Orleans.Connections.Security;

namespace OrleansLlm.Security;

/// <summary>
/// The cluster certificate and CAs in use, read again from their files when a connection is made and
/// <see cref="ClusterTlsOptions.ReloadInterval"/> has passed, and applied to Orleans' TLS options.
/// </summary>
/// <remarks>
/// A Secret mounted as a volume is rewritten in place when cert-manager renews it, but a process that read it once
/// keeps presenting the old certificate until it expires, and then every new connection fails. Reading again where
/// connections are made needs no watcher thread and sees the Kubernetes volume's atomic swap as one change. A renewal
/// that does not pass <see cref="ClusterTlsOptionsValidator"/> is logged and the certificate in use is kept; connections
/// already open keep the certificate they were made with.
/// </remarks>
public sealed partial class ClusterCredentials
{
    private readonly ClusterTlsOptions _options;
    private readonly bool _server;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private ClusterTrust _current;
    private byte[] _files;
    private byte[]? _refused;
    private DateTimeOffset _nextCheck;

    private ClusterCredentials(ClusterTlsOptions options, bool server, TimeProvider time, ILogger logger, ClusterTrust trust, byte[] files)
    {
        _options = options;
        _server = server;
        _time = time;
        _logger = logger;
        _current = trust;
        _files = files;
        _nextCheck = time.GetUtcNow() + options.ReloadInterval;
    }

    /// <summary>The certificate and CAs to use now: the files are read again once the reload interval has passed.</summary>
    public ClusterTrust Current
    {
        get
        {
            lock (_gate)
            {
                if (_time.GetUtcNow() >= _nextCheck)
                {
                    Reload();
                }

                return _current;
            }
        }
    }

    /// <summary>Reads the files named by <paramref name="options"/>, which <see cref="ClusterTlsOptionsValidator"/> has checked.</summary>
    /// <param name="server">True for a silo, whose certificate must also allow server authentication.</param>
    /// <exception cref="CryptographicException">A file holds no PEM certificate or key, or the key is not the certificate's.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static ClusterCredentials Load(ClusterTlsOptions options, bool server, TimeProvider time, ILogger logger)
    {
        var files = Fingerprint(options);
        return new ClusterCredentials(options, server, time, logger, ClusterTrust.Load(options), files);
    }

    /// <summary>
    /// Mutual TLS for one kind of endpoint: this end presents the current certificate on every connection and accepts
    /// the other end only as <paramref name="accepts"/> (<see cref="ClusterTrust.Accepts"/>), against the current CAs.
    /// </summary>
    public void Configure(TlsOptions tls, ClusterPeer accepts)
    {
        tls.LocalCertificate = Current.Certificate;
        // Selectors are asked on every handshake, the fixed certificate only once: they are what makes a renewal count.
        tls.LocalServerCertificateSelector = (_, _) => Current.Certificate;
        tls.LocalClientCertificateSelector = (_, _, _, _, _) => Current.Certificate;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        // SslStream then builds the peer's chain against the cluster's CAs alone, with the usage each side needs (a
        // server's certificate for server authentication, a client's for client authentication). A fresh policy per
        // handshake, because SslStream adds to the one it is given.
        tls.OnAuthenticateAsServer = (_, server) =>
            ((SslServerAuthenticationOptions)server.SslServerAuthenticationOptions).CertificateChainPolicy = Current.CreateChainPolicy();
        tls.OnAuthenticateAsClient = (_, client) =>
            ((SslClientAuthenticationOptions)client.SslClientAuthenticationOptions).CertificateChainPolicy = Current.CreateChainPolicy();
        tls.RemoteCertificateValidation = (certificate, _, errors) => Current.Accepts(certificate, errors, accepts);
    }

    private void Reload()
    {
        _nextCheck = _time.GetUtcNow() + _options.ReloadInterval;
        byte[] files;
        try
        {
            files = Fingerprint(_options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogReloadFailed(_logger, ex.Message);
            return;
        }

        if (files.AsSpan().SequenceEqual(_files) || files.AsSpan().SequenceEqual(_refused))
        {
            return;
        }

        if (new ClusterTlsOptionsValidator(_server).Validate(null, _options) is { Failed: true } invalid)
        {
            // Said once per version of the files, not on every connection.
            _refused = files;
            LogRenewalRefused(_logger, string.Join(" ", invalid.Failures));
            return;
        }

        ClusterTrust renewed;
        try
        {
            renewed = ClusterTrust.Load(_options);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            LogReloadFailed(_logger, ex.Message);
            return;
        }

        // The previous certificate is not disposed: a handshake under way may still be presenting it.
        _current = renewed;
        _files = files;
        LogReloaded(_logger, renewed.Certificate.Subject, renewed.Certificate.Thumbprint, renewed.Certificate.NotAfter.ToUniversalTime());
    }

    // What identifies one version of the three files: their contents, hashed.
    private static byte[] Fingerprint(ClusterTlsOptions options)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in (string?[])[options.CertificateFile, options.KeyFile, options.CaFile])
        {
            hash.AppendData(File.ReadAllBytes(file!));
        }

        return hash.GetHashAndReset();
    }
}
