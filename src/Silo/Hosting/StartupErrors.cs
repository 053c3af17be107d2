using Microsoft.Extensions.Options;
using OrleansLlm.Redis;

namespace OrleansLlm.Silo.Hosting;

/// <summary>Recognises the start-up failures an operator can fix, so the silo reports them as one line and exits 1.</summary>
public static class StartupErrors
{
    /// <returns>The one-line description, or null for an unexpected failure (left to crash with its stack trace).</returns>
    public static string? Describe(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case RedisUnavailableException redis:
                    return redis.Message;
                case OptionsValidationException options:
                    return string.Join(" ", options.Failures);
            }
        }

        return ex is AggregateException aggregate ? aggregate.InnerExceptions.Select(Describe).FirstOrDefault(d => d is not null) : null;
    }
}
