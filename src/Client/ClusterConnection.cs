using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
using Orleans.Runtime.Messaging;
using OrleansLlm.Security;
using StackExchange.Redis;

namespace OrleansLlm.Client;

/// <summary>A connected Orleans client and the one Redis connection it finds the cluster's gateways with.</summary>
public sealed class ClusterConnection : IAsyncDisposable, IDisposable
{
    private const int GatewayRetries = 3;

    private readonly IHost _host;
    private readonly IConnectionMultiplexer _redis;
    private readonly ClusterTrust? _trust;

    private ClusterConnection(IHost host, IConnectionMultiplexer redis, ClusterTrust? trust)
    {
        _host = host;
        _redis = redis;
        _trust = trust;
    }

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>Connects to Redis, then to a silo's gateway, turning the usual failures into one-line messages.</summary>
    /// <exception cref="ClusterUnavailableException">The TLS settings are wrong, or Redis or every gateway could not be reached.</exception>
    public static async Task<ClusterConnection> ConnectAsync(ClientSettings settings, CancellationToken cancellationToken)
    {
        var tls = settings.Tls ?? new ClusterTlsOptions();
        if (new ClusterTlsOptionsValidator(server: false).Validate(null, tls) is { Failed: true } invalid)
        {
            throw new ClusterUnavailableException(string.Join(" ", invalid.Failures));
        }

        ConfigurationOptions redisConfig;
        try
        {
            redisConfig = settings.CreateRedisConfiguration();
        }
        catch (ArgumentException ex)
        {
            throw new ClusterUnavailableException($"Redis:ConnectionString is not valid: {ex.Message}");
        }

        // Redis first, on its own: Orleans' own error for an unreachable Redis is far from obvious.
        redisConfig.ConnectTimeout = 3000;
        redisConfig.AbortOnConnectFail = true;
        redisConfig.ClientName ??= "orleansllm-cli";
        IConnectionMultiplexer redis;
        try
        {
            redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
        }
        catch (RedisConnectionException ex)
        {
            throw new ClusterUnavailableException(ex switch
            {
                { InnerException: System.Security.Authentication.AuthenticationException } =>
                    $"Redis at {settings.RedisForDisplay} presented a TLS certificate this machine does not trust (set Redis__TrustedCaFile to its CA's PEM file)",
                { FailureType: ConnectionFailureType.AuthenticationFailure } =>
                    $"Redis at {settings.RedisForDisplay} refused the credentials (set Redis__ConnectionString or --redis)",
                _ => $"cannot reach Redis at {settings.RedisForDisplay} (set Redis__ConnectionString or --redis)",
            });
        }

        var trust = tls.Enabled ? ClusterTrust.Load(tls) : null;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            // Grain calls carry the caller's trace context, as the silos expect (they turn it on too).
            client.AddActivityPropagation();
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            client.UseRedisClustering(o =>
            {
                o.ConfigurationOptions = redisConfig;
                o.CreateMultiplexer = _ => Task.FromResult((redis, IsShared: true));
            });
            if (trust is not null)
            {
                client.UseTls(trust.Certificate, trust.Configure);
            }

            // A gateway that refuses us now (its silo restarting) may take us a moment later, but one that refuses the
            // TLS handshake never will: a few tries, not Orleans' default of fifteen over three minutes.
            var retries = 0;
            client.UseConnectionRetryFilter(async (exception, ct) =>
            {
                if (exception is not (ConnectionFailedException or OrleansMessageRejectionException) || ++retries > GatewayRetries)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromSeconds(retries), ct);
                return true;
            });
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
            await redis.DisposeAsync();
            trust?.Dispose();
            var cluster = $"cluster '{settings.ClusterId}' (Redis at {settings.RedisForDisplay})";
            throw new ClusterUnavailableException(ex switch
            {
                ConnectionFailedException or OrleansMessageRejectionException when tls.Enabled =>
                    $"no gateway of {cluster} accepted the connection: check that the silos use TLS and that Orleans__Tls__CertificateFile is from the CA in their Orleans__Tls__CaFile",
                ConnectionFailedException or OrleansMessageRejectionException =>
                    $"no gateway of {cluster} accepted the connection: if the silos use TLS, set Orleans__Tls__Enabled, CertificateFile, KeyFile and CaFile as they have them",
                _ => $"no OrleansLlm silo is running in {cluster}; start one with 'dotnet run --project src/Silo'",
            });
        }
        catch
        {
            host.Dispose();
            await redis.DisposeAsync();
            trust?.Dispose();
            throw;
        }

        return new ClusterConnection(host, redis, trust);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _redis.DisposeAsync();
        _trust?.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
