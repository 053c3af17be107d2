using Microsoft.Extensions.Options;

namespace OrleansLlm.Options;

/// <summary>Where the queue, the results and the cluster membership live. Section <c>Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis connection string; may carry a password, so it is never logged. Default: <c>localhost:6379</c>.</summary>
    public string ConnectionString { get; set; } = "localhost:6379";
}

public sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail($"{RedisOptions.Section}:{nameof(RedisOptions.ConnectionString)} is required, e.g. 'localhost:6379'.");
        }

        try
        {
            StackExchange.Redis.ConfigurationOptions.Parse(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"{RedisOptions.Section}:{nameof(RedisOptions.ConnectionString)} is not a valid Redis connection string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
