using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
using Orleans.Messaging;
using Orleans.Runtime.Messaging;
using OrleansLlm.Security;
using StackExchange.Redis;

namespace OrleansLlm.Client;

/// <summary>A connected Orleans client and the one Redis connection it finds the cluster's gateways with.</summary>
public sealed class ClusterConnection : IAsyncDisposable, IDisposable
{
    // While no gateway answers, try again this often until the connect timeout: a silo that is starting is found
    // within a fraction of a second, instead of after Orleans' own linear back-off (1.5 s, 3 s, ... 3 minutes in all).
    private static readonly TimeSpan GatewayRetryDelay = TimeSpan.FromMilliseconds(500);
    // How much longer than its own connect timeout StackExchange.Redis may take to say why it could not connect.
    private static readonly TimeSpan RedisConnectGrace = TimeSpan.FromSeconds(2);

    // Stopping the client sends the gateway a goodbye, so the silo sees a clean close, not a reset; bounded, since
    // the silo may be gone.
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly IHost _host;
    private readonly IConnectionMultiplexer _redis;
    
    private ClusterConnection(IHost host, IConnectionMultiplexer redis)
    {
        _host = host;
        _redis = redis;
    }

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>
    /// Connects to Redis, then to a silo's gateway, within <see cref="ClientSettings.ConnectTimeout"/>, turning the
    /// usual failures into one-line messages.
    /// </summary>
    /// <param name="logging">Where the Orleans client logs (warnings and up); null for nowhere.</param>
    /// <exception cref="ClusterUnavailableException">The TLS settings are wrong, or Redis or every gateway could not be reached in time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<ClusterConnection> ConnectAsync(ClientSettings settings, CancellationToken cancellationToken, Action<ILoggingBuilder>? logging = null)
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

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.ConnectTimeout);

        // Redis first, on its own: Orleans' own error for an unreachable Redis is far from obvious.
        redisConfig.ConnectTimeout = (int)Math.Clamp(settings.ConnectTimeout.TotalMilliseconds, 1, int.MaxValue);
        redisConfig.AbortOnConnectFail = true;
        // One attempt, so the connect timeout bounds it: with the default three, a 2 s timeout took 6.4 s.
        redisConfig.ConnectRetry = 1;
        redisConfig.ClientName ??= "orleansllm-cli";
        var redis = await ConnectRedisAsync(settings, redisConfig, cancellationToken);

        Exception? lastError = null;
        var credentials = tls.Enabled ? ClusterCredentials.Load(tls, server: false, TimeProvider.System, NullLogger.Instance) : null;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.UseOrleansClient(client => ConfigureClient(client, settings, redisConfig, redis, credentials, error => lastError = error));
        builder.Services.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));

        var host = builder.Build();
        try
        {
            await host.StartAsync(deadline.Token).WaitAsync(deadline.Token);
            return new ClusterConnection(host, redis);
        }
        catch (Exception ex)
        {
            var message = cancellationToken.IsCancellationRequested ? null : await DescribeNoGatewayAsync(host, settings, lastError ?? ex);
            await StopAsync(host);
            await redis.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
            throw new ClusterUnavailableException(message!);
        }
    }

    private static void ConfigureClient(
        IClientBuilder client, ClientSettings settings, ConfigurationOptions redisConfig, IConnectionMultiplexer redis, ClusterCredentials? credentials, Action<Exception> onGatewayError)
    {
        // Grain calls carry the caller's trace context, as the silos expect (they turn it on too).
        client.AddActivityPropagation();
        // A silo's Redis failure reaches the caller as itself, not as a codec error.
        client.Services.AddGrainCallExceptions();
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
        if (credentials is not null)
        {
            // The gateway must be a silo's: a client's certificate, or another of the CA's, is no gateway.
            client.UseTls(o => credentials.Configure(o, ClusterPeer.Silo));
        }

        client.UseConnectionRetryFilter(async (error, token) =>
        {
            onGatewayError(error);
            await Task.Delay(GatewayRetryDelay, token);
            return true;
        });
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_host);
        await _redis.DisposeAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static async Task<IConnectionMultiplexer> ConnectRedisAsync(ClientSettings settings, ConfigurationOptions config, CancellationToken cancellationToken)
    {
        // StackExchange.Redis gives up after config.ConnectTimeout with the reason it saw (a refused certificate,
        // refused credentials); a deadline of our own at the same moment would race it and could turn a refused
        // certificate into "did not answer" (it did, once in CI). Ours is only a backstop, a little later.
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(config).WaitAsync(settings.ConnectTimeout + RedisConnectGrace, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new ClusterUnavailableException(DidNotAnswer(settings));
        }
        catch (RedisConnectionException ex)
        {
            var waitedAll = TimeProvider.System.GetElapsedTime(started) >= settings.ConnectTimeout;
            throw new ClusterUnavailableException(Describe(ex, settings) ?? (waitedAll ? DidNotAnswer(settings) : $"cannot reach Redis at {settings.RedisForDisplay} (set Redis__ConnectionString or --redis)"));
        }
    }

    /// <summary>A refused certificate or refused credentials, from anywhere in the exception chain (the TLS error sits a level or two down); else null.</summary>
    private static string? Describe(RedisConnectionException failure, ClientSettings settings)
    {
        var chain = new List<Exception>();
        for (Exception? ex = failure; ex is not null; ex = ex.InnerException)
        {
            chain.Add(ex);
        }

        // First: StackExchange.Redis reports a refused certificate as an AuthenticationFailure too.
        if (chain.Any(ex => ex is System.Security.Authentication.AuthenticationException))
        {
            return $"Redis at {settings.RedisForDisplay} presented a TLS certificate this machine does not trust (set Redis__TrustedCaFile to its CA's PEM file)";
        }

        return chain.Any(ex => ex is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }
            || (ex is RedisServerException && (ex.Message.StartsWith("NOAUTH", StringComparison.Ordinal) || ex.Message.StartsWith("WRONGPASS", StringComparison.Ordinal))))
            ? $"Redis at {settings.RedisForDisplay} refused the credentials (set Redis__ConnectionString or --redis)"
            : null;
    }

    private static string DidNotAnswer(ClientSettings settings) =>
        $"Redis at {settings.RedisForDisplay} did not answer within {Seconds(settings.ConnectTimeout)} (set Redis__ConnectionString or --redis; --connect-timeout waits longer)";

    /// <summary>Says what was tried: the gateways Redis lists for the cluster, or that it lists none.</summary>
    private static async Task<string> DescribeNoGatewayAsync(IHost host, ClientSettings settings, Exception failure)
    {
        var cluster = $"cluster '{settings.ClusterId}' (Redis at {settings.RedisForDisplay})";
        IList<Uri>? gateways = null;
        try
        {
            gateways = await host.Services.GetRequiredService<IGatewayListProvider>().GetGateways().WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Best effort: the message below still says what to do.
        }

        // A gateway that answers but refuses the connection is most likely one with TLS the client lacks, or the reverse.
        var refused = failure is ConnectionFailedException or OrleansMessageRejectionException;
        var tlsHint = !refused ? string.Empty : settings.Tls?.Enabled == true
            ? "; check that the silos use TLS and that Orleans__Tls__CertificateFile is from the CA in their Orleans__Tls__CaFile"
            : "; if the silos use TLS, set Orleans__Tls__Enabled, CertificateFile, KeyFile and CaFile as they have them";
        return gateways switch
        {
            null or { Count: 0 } =>
                $"no silo of {cluster} is running: Redis lists no gateway; start one with 'dotnet run --project src/Silo' (--connect-timeout waits longer for one)",
            _ =>
                $"no silo answered within {Seconds(settings.ConnectTimeout)} at the gateways Redis lists for {cluster}: " +
                $"{string.Join(", ", gateways.Select(g => $"{g.Host}:{g.Port}"))}; is a silo running? (--connect-timeout waits longer; last error: {FirstLine(failure)}){tlsHint}",
        };
    }

    private static async Task StopAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await host.StopAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or OrleansException or ObjectDisposedException)
        {
            // The silo went away, or the client never connected: nothing left to close cleanly.
        }

        host.Dispose();
    }

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.#} s";

    private static string FirstLine(Exception ex) => ex is OperationCanceledException ? "timed out" : ex.Message.Split('\n')[0].Trim();
}
