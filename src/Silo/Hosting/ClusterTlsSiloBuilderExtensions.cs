using Orleans.Configuration;
using OrleansLlm.Security;

namespace OrleansLlm.Silo.Hosting;

public static class ClusterTlsSiloBuilderExtensions
{
    /// <summary>
    /// When <see cref="ClusterTlsOptions.Enabled"/>: mutual TLS on the silo's inbound silo and gateway connections and
    /// on its outbound silo connections, with the cluster certificate read again when renewed
    /// (<see cref="ClusterCredentials"/>). The silo port accepts only silos, the gateway only clients
    /// (<see cref="ClusterTrust.Accepts"/>).
    /// </summary>
    /// <param name="options">Checked by <see cref="ClusterTlsOptionsValidator"/> for a silo.</param>
    public static ISiloBuilder UseClusterTls(this ISiloBuilder builder, ClusterTlsOptions options)
    {
        if (!options.Enabled)
        {
            return builder;
        }

        builder.Services.AddSingleton(services => ClusterCredentials.Load(
            options, server: true, services.GetService<TimeProvider>() ?? TimeProvider.System, services.GetRequiredService<ILogger<ClusterCredentials>>()));
        builder.Services.AddOptions<SiloConnectionOptions>().Configure<ClusterCredentials>((connections, credentials) =>
        {
            // Orleans' own UseTls gives all three the same checks; here each endpoint knows whom it expects.
            connections.ConfigureSiloInboundConnection(connection => connection.UseServerTls(Tls(credentials, ClusterPeer.Silo)));
            connections.ConfigureGatewayInboundConnection(connection => connection.UseServerTls(Tls(credentials, ClusterPeer.Client)));
            connections.ConfigureSiloOutboundConnection(connection => connection.UseClientTls(Tls(credentials, ClusterPeer.Silo)));
        });
        return builder;
    }

    private static Orleans.Connections.Security.TlsOptions Tls(ClusterCredentials credentials, ClusterPeer accepts)
    {
        var tls = new Orleans.Connections.Security.TlsOptions();
        credentials.Configure(tls, accepts);
        return tls;
    }
}
