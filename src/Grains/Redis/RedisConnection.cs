using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using StackExchange.Redis;

namespace OrleansLlm.Redis;

/// <summary>
/// The silo's one connection to Redis, shared by the queue, the batch store, clustering and the grain directory.
/// </summary>
/// <remarks>
/// It connects when first asked (at the start of the silo lifecycle, see <see cref="RedisConnectionLifecycle"/>),
/// asynchronously, never in a constructor or a DI factory. An unreachable Redis is retried until
/// <see cref="RedisOptions.StartupTimeout"/>; a refused password is not, since retrying cannot fix it. Either way
/// the error names the endpoint, never the password. After start-up, StackExchange.Redis reconnects by itself.
/// </remarks>
public sealed partial class RedisConnection(IOptions<RedisOptions> options, TimeProvider time, ILogger<RedisConnection> logger) : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private Task<IConnectionMultiplexer>? _connecting;

    /// <summary>The endpoint, without the password: fit for messages and logs.</summary>
    public string Endpoint => options.Value.ForDisplay();

    /// <summary>The connected multiplexer; only valid once <see cref="ConnectAsync"/> has completed.</summary>
    public IConnectionMultiplexer Multiplexer =>
        _connecting is { IsCompletedSuccessfully: true } connected
            ? connected.Result
            : throw new InvalidOperationException($"Redis at {Endpoint} is not connected yet.");

    public IDatabase Database => Multiplexer.GetDatabase();

    /// <summary>Connects once; every caller shares the same attempt and the same multiplexer.</summary>
    /// <exception cref="RedisUnavailableException">Redis refused the password, or did not answer within the startup timeout.</exception>
    public Task<IConnectionMultiplexer> ConnectAsync()
    {
        lock (_gate)
        {
            return _connecting ??= ConnectCoreAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connecting is { IsCompletedSuccessfully: true } connected)
        {
            await connected.Result.DisposeAsync();
        }
    }

    private async Task<IConnectionMultiplexer> ConnectCoreAsync()
    {
        var config = options.Value.CreateConfiguration();
        // Keep trying in the background rather than failing the first connect; the loop below decides when to give up.
        config.AbortOnConnectFail = false;
        config.ClientName ??= options.Value.ClientName;
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(config);
        var deadline = time.GetUtcNow() + options.Value.StartupTimeout;
        var delay = FirstRetryDelay;
        while (true)
        {
            try
            {
                await multiplexer.GetDatabase().PingAsync();
                LogConnected(logger, Endpoint);
                return multiplexer;
            }
            catch (Exception ex) when (IsUntrustedCertificate(ex))
            {
                await multiplexer.DisposeAsync();
                throw new RedisUnavailableException($"Redis at {Endpoint} presented a TLS certificate this silo does not trust (set Redis:TrustedCaFile to its CA's PEM file): {FirstLine(ex)}", ex);
            }
            catch (Exception ex) when (IsAuthenticationFailure(ex))
            {
                await multiplexer.DisposeAsync();
                throw new RedisUnavailableException($"Redis at {Endpoint} refused the credentials in Redis:ConnectionString: {FirstLine(ex)}", ex);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                if (time.GetUtcNow() + delay > deadline)
                {
                    await multiplexer.DisposeAsync();
                    throw new RedisUnavailableException(
                        $"Redis at {Endpoint} did not answer within {options.Value.StartupTimeout.TotalSeconds:0} s (Redis:StartupTimeout): {FirstLine(ex)}", ex);
                }

                LogNotAnswering(logger, Endpoint, delay, FirstLine(ex));
                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private static bool IsUntrustedCertificate(Exception ex) =>
        ex is System.Security.Authentication.AuthenticationException || (ex.InnerException is { } inner && IsUntrustedCertificate(inner));

    private static bool IsAuthenticationFailure(Exception ex) =>
        ex is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }
        || (ex is RedisServerException && (ex.Message.StartsWith("NOAUTH", StringComparison.Ordinal) || ex.Message.StartsWith("WRONGPASS", StringComparison.Ordinal)))
        || (ex.InnerException is { } inner && IsAuthenticationFailure(inner));

    private static string FirstLine(Exception ex) => ex.Message.Split('\n')[0].Trim();

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to Redis at {Endpoint}")]
    private static partial void LogConnected(ILogger logger, string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis at {Endpoint} does not answer yet; trying again in {Delay}: {Error}")]
    private static partial void LogNotAnswering(ILogger logger, string endpoint, TimeSpan delay, string error);
}
