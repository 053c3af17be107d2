using Microsoft.Extensions.Configuration;
using OrleansLlm.Security;
using StackExchange.Redis;

namespace OrleansLlm.Client;

/// <summary>
/// Settings the client shares with the silos: the same <c>Redis:*</c> and <c>Orleans:*</c> keys find the cluster, and
/// the same <c>Orleans:Tls:*</c> keys let it in.
/// </summary>
/// <param name="RedisTrustedCaFile">Like the silo's <c>Redis:TrustedCaFile</c>: the CA of Redis' TLS certificate, if the system does not trust it.</param>
/// <param name="Tls">The cluster's mutual TLS, as the silos have it; none for an open cluster.</param>
public sealed record ClientSettings(
    string RedisConnectionString, string ClusterId, string ServiceId, string? RedisTrustedCaFile = null, ClusterTlsOptions? Tls = null)
{
    /// <summary>The default <see cref="ConnectTimeout"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long connecting may take, to Redis and then to a silo's gateway. Default: 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    /// <exception cref="InvalidOperationException">A setting does not convert to its type, e.g. <c>Orleans:Tls:Enabled=yes</c>.</exception>
    public static ClientSettings From(IConfiguration config, string? redisOverride) => new(
        redisOverride ?? config["Redis:ConnectionString"] ?? "localhost:6379",
        config["Orleans:ClusterId"] ?? "orleansllm",
        config["Orleans:ServiceId"] ?? "orleansllm",
        config["Redis:TrustedCaFile"] is { Length: > 0 } ca ? ca : null,
        config.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>());

    /// <summary>The endpoints, without the password: fit for messages.</summary>
    public string RedisForDisplay => string.Join(",", ConfigurationOptions.Parse(RedisConnectionString).EndPoints.Select(e => e.ToString()));

    /// <exception cref="ArgumentException">The connection string is not valid.</exception>
    public ConfigurationOptions CreateRedisConfiguration()
    {
        var config = ConfigurationOptions.Parse(RedisConnectionString);
        if (RedisTrustedCaFile is { } ca)
        {
            config.TrustIssuer(ca);
        }

        return config;
    }
}
