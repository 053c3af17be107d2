namespace OrleansLlm.Security;

/// <summary>
/// Mutual TLS on the cluster's own connections, silo to silo and client to gateway. Section <c>Orleans:Tls</c>; silos
/// and clients (the CLI) read the same keys.
/// </summary>
/// <remarks>
/// Each end presents its certificate and accepts only a peer whose certificate a CA in <see cref="CaFile"/> signed (and,
/// with <see cref="PeerName"/>, that carries that name), so a client without the cluster's certificate cannot connect,
/// let alone call a grain. Names are not checked otherwise, since silos reach each other by pod addresses that change:
/// use a CA that signs for this cluster alone, or set <see cref="PeerName"/>. The files are read once, at start-up.
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
    /// A DNS name every peer's certificate must carry as a subject alternative name, silos and clients alike, for a CA
    /// that signs other certificates too. Default: none, any certificate the CA signed.
    /// </summary>
    public string? PeerName { get; set; }
}
