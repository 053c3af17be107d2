namespace OrleansLlm.Security;

/// <summary>
/// Mutual TLS on the cluster's own connections, silo to silo and client to gateway. Section <c>Orleans:Tls</c>; silos
/// and clients (the CLI) read the same keys.
/// </summary>
/// <remarks>
/// Each end presents its certificate and accepts only a peer whose certificate a CA in <see cref="CaFile"/> signed (and,
/// with <see cref="PeerName"/>, that carries that name), so a client without the cluster's certificate cannot connect,
/// let alone call a grain. Names are not checked otherwise, since silos reach each other by pod addresses that change:
/// use a CA that signs for this cluster alone, or set <see cref="PeerName"/>. The silo port accepts only silo
/// certificates (server authentication, and <see cref="PeerName"/>), so a client's certificate, made for client
/// authentication alone, cannot join as a silo; with <see cref="ClientPeerName"/> the gateway accepts only client
/// certificates. The files are read again every <see cref="ReloadInterval"/> while connections are made, so a renewed
/// certificate (cert-manager rewriting the mounted Secret) is used without a restart.
/// </remarks>
public sealed class ClusterTlsOptions
{
    public const string Section = "Orleans:Tls";

    /// <summary>Whether silo and gateway connections use mutual TLS. Default: false, an open cluster (the local demo).</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// PEM file of this end's certificate, e.g. cert-manager's <c>tls.crt</c>. A silo's must allow both server and client
    /// authentication (extended key usage), a client's client authentication. Default: none; required when enabled.
    /// </summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM file of the certificate's private key, e.g. <c>tls.key</c>. Default: none; required when enabled.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// PEM file of the CA certificates that sign the cluster's certificates, e.g. <c>ca.crt</c>; several may follow one
    /// another (a CA being rotated). Only these are trusted here, never the system's store. Default: none; required when enabled.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>
    /// The DNS name every silo's certificate carries as a subject alternative name: a silo's own certificate must carry
    /// it, the silo port accepts only certificates that do, and clients accept only gateways that do. Default: none, any
    /// certificate the CA signed for server authentication.
    /// </summary>
    public string? PeerName { get; set; }

    /// <summary>
    /// The DNS name every client's certificate carries: a client's own certificate must carry it, and the silos' gateway
    /// accepts only certificates that do, so a silo's certificate (or any other the CA signed) cannot act as a client.
    /// Default: none, any certificate the CA signed for client authentication.
    /// </summary>
    public string? ClientPeerName { get; set; }

    /// <summary>
    /// How often the files are read again, when a connection is made, to pick up a renewed certificate or CA. A renewal
    /// that does not pass the start-up checks is logged and the certificate in use is kept. Default: 30 seconds.
    /// </summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(30);
}
