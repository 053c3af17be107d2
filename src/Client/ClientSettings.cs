using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace OrleansLlm.Client;

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
