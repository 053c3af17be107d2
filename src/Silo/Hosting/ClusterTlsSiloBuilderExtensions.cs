using OrleansLlm.Security;

namespace OrleansLlm.Silo.Hosting;

public static class ClusterTlsSiloBuilderExtensions
{
    /// <summary>
    /// When <see cref="ClusterTlsOptions.Enabled"/>: mutual TLS on the silo's inbound silo and gateway connections and
    /// on its outbound silo connections. Every peer, silo or client, must present a certificate of the cluster's CA.
    /// </summary>
    /// <param name="options">Checked by <see cref="ClusterTlsOptionsValidator"/> for a silo.</param>
    public static ISiloBuilder UseClusterTls(this ISiloBuilder builder, ClusterTlsOptions options)
    {
        if (!options.Enabled)
        {
            return builder;
        }

        // The certificate and the CAs are held for the silo's lifetime: every new connection uses them.
        var trust = ClusterTrust.Load(options);
        return builder.UseTls(trust.Certificate, trust.Configure);
    }
}
