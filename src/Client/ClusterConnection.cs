using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansLlm.Client;

/// <summary>Connects to the cluster as an Orleans client, turning the usual failures into clear one-line messages.</summary>
public static class ClusterConnection
{
    public static async Task<IHost> ConnectAsync(ClientSettings settings, CancellationToken cancellationToken)
    {
        // Check Redis on its own first: Orleans' own error for an unreachable Redis is far from obvious.
        ConfigurationOptions redis;
        try
        {
            redis = ConfigurationOptions.Parse(settings.RedisConnectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ClusterUnavailableException($"Redis:ConnectionString is not valid: {ex.Message}");
        }

        redis.ConnectTimeout = 3000;
        redis.AbortOnConnectFail = true;
        try
        {
            await using var probe = await ConnectionMultiplexer.ConnectAsync(redis);
        }
        catch (RedisConnectionException)
        {
            throw new ClusterUnavailableException($"cannot reach Redis at {settings.RedisForDisplay} (set Redis__ConnectionString or --redis)");
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            client.UseRedisClustering(settings.RedisConnectionString);
        });
        builder.Services.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));

        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            host.Dispose();
            throw new ClusterUnavailableException(
                $"no OrleansLlm silo is running in cluster '{settings.ClusterId}' (Redis at {settings.RedisForDisplay}); start one with 'dotnet run --project src/Silo'");
        }

        return host;
    }

    public static IClusterClient Client(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
