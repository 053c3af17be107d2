using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace OrleansLlm.Options;

/// <summary>Where the queue, the results and the cluster membership live. Section <c>Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>
    /// StackExchange.Redis connection string, e.g. <c>redis:6379,password=...,ssl=true</c>; it may carry a password,
    /// so it is never logged. Several endpoints of a Redis Cluster are fine. Default: <c>localhost:6379</c>.
    /// </summary>
    public string ConnectionString { get; set; } = "localhost:6379";

    /// <summary>
    /// A PEM file with the certificate authority that signed Redis' TLS certificate, when the machine's trust store
    /// does not hold it (e.g. a cluster-internal CA). Default: none, the system's trust store.
    /// </summary>
    public string? TrustedCaFile { get; set; }

    /// <summary>How long the silo keeps trying to reach Redis at start before it gives up and exits. Default: 1 minute.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Name the connection shows in <c>CLIENT LIST</c>. Default: <c>orleansllm-silo</c>.</summary>
    public string ClientName { get; set; } = "orleansllm-silo";

    /// <summary>The parsed connection string, with the trusted CA applied.</summary>
    public ConfigurationOptions CreateConfiguration()
    {
        var config = ConfigurationOptions.Parse(ConnectionString);
        if (TrustedCaFile is { Length: > 0 } ca)
        {
            config.TrustIssuer(ca);
        }

        return config;
    }

    /// <summary>The endpoints, without the password.</summary>
    public string ForDisplay() => string.Join(",", ConfigurationOptions.Parse(ConnectionString).EndPoints.Select(e => e.ToString()));
}

public sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var failures = new List<string>();
        const string s = RedisOptions.Section;
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add($"{s}:{nameof(RedisOptions.ConnectionString)} is required, e.g. 'localhost:6379'.");
        }
        else
        {
            try
            {
                if (ConfigurationOptions.Parse(options.ConnectionString).EndPoints.Count == 0)
                {
                    failures.Add($"{s}:{nameof(RedisOptions.ConnectionString)} names no endpoint, e.g. 'localhost:6379'.");
                }
            }
            catch (ArgumentException ex)
            {
                // The message names the offending key, not its value, so no password leaks.
                failures.Add($"{s}:{nameof(RedisOptions.ConnectionString)} is not a valid Redis connection string: {ex.Message}");
            }
        }

        if (options.TrustedCaFile is { Length: > 0 } ca && !File.Exists(ca))
        {
            failures.Add($"{s}:{nameof(RedisOptions.TrustedCaFile)} names a file that does not exist: '{ca}'.");
        }

        if (options.StartupTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(RedisOptions.StartupTimeout)} must be positive (was {options.StartupTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
