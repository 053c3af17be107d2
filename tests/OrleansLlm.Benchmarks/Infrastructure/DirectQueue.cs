using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>
/// A queue's own types on the harness's redis-server, with no silo: what the million and queue-cost runs drive
/// directly (enqueue through <see cref="Items"/> and <see cref="Store"/>, lease and settle through <see cref="Leases"/>).
/// </summary>
public sealed class DirectQueue : IAsyncDisposable
{
    private readonly RedisConnection _connection;

    private DirectQueue(RedisConnection connection, QueueKeys keys)
    {
        _connection = connection;
        Keys = keys;
        var options = MsOptions.Create(new QueueOptions { Name = keys.Name });
        Items = new RedisQueueItems(connection, options, QueueClock.Redis, TimeProvider.System);
        Store = new RedisBatchStore(connection, Items, options, QueueClock.Redis, TimeProvider.System);
        Leases = new RedisLeaseQueue(connection, options, QueueClock.Redis);
    }

    public QueueKeys Keys { get; }

    public RedisQueueItems Items { get; }

    public RedisBatchStore Store { get; }

    public RedisLeaseQueue Leases { get; }

    /// <summary>A queue of a fresh name starting with <paramref name="prefix"/>, its connection named after it.</summary>
    public static async Task<DirectQueue> ConnectAsync(RedisProcess redis, string prefix)
    {
        var connection = new RedisConnection(
            MsOptions.Create(new RedisOptions { ConnectionString = redis.ConnectionString, ClientName = $"benchmark-{prefix}" }),
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisConnection>.Instance);
        await connection.ConnectAsync();
        return new DirectQueue(connection, new QueueKeys($"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]));
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
