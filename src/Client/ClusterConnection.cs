using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansLlm.Client;

/// <summary>A problem the user can fix, reported as one line without a stack trace.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Settings the client shares with the silos: the same <c>Redis:ConnectionString</c> finds the cluster.</summary>
public sealed record ClientSettings(string RedisConnectionString, string ClusterId, string ServiceId)
{
    public static ClientSettings From(IConfiguration config, string? redisOverride) => new(
        redisOverride ?? config["Redis:ConnectionString"] ?? "localhost:6379",
        config["Orleans:ClusterId"] ?? "orleansllm",
        config["Orleans:ServiceId"] ?? "orleansllm");

    /// <summary>The connection string without its password, fit for messages.</summary>
    public string RedisForDisplay => ConfigurationOptions.Parse(RedisConnectionString).ToString(includePassword: false);
}

/// <summary>Connects the CLI to the cluster as an Orleans client, turning the usual failures into clear messages.</summary>
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
            throw new CliException($"error: Redis:ConnectionString is not valid: {ex.Message}");
        }

        redis.ConnectTimeout = 3000;
        redis.AbortOnConnectFail = true;
        try
        {
            await using var probe = await ConnectionMultiplexer.ConnectAsync(redis);
        }
        catch (RedisConnectionException)
        {
            throw new CliException($"error: cannot reach Redis at {settings.RedisForDisplay} (set Redis__ConnectionString or --redis)");
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
            throw new CliException(
                $"error: no OrleansLlm silo is running in cluster '{settings.ClusterId}' (Redis at {settings.RedisForDisplay}); start one with 'dotnet run --project src/Silo'");
        }

        return host;
    }

    public static IClusterClient Client(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
