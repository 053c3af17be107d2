using Microsoft.Extensions.Logging.Abstractions;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>The queue and the batch store of one queue name, on their own real Redis connection, outside any silo.</summary>
public sealed class QueueHandle : IAsyncDisposable
{
    private readonly RedisConnection _connection;

    private QueueHandle(RedisConnection connection, QueueOptions options)
    {
        _connection = connection;
        Queue = new RedisLeaseQueue(connection, MsOptions.Create(options));
        Batches = new RedisBatchStore(connection, MsOptions.Create(options), TimeProvider.System);
    }

    public RedisLeaseQueue Queue { get; }

    public RedisBatchStore Batches { get; }

    public QueueKeys Keys => Queue.Keys;

    public IDatabase Db => _connection.Database;

    public static async Task<QueueHandle> ConnectAsync(string connectionString, QueueOptions options)
    {
        var connection = new RedisConnection(
            MsOptions.Create(new RedisOptions { ConnectionString = connectionString, ClientName = "orleansllm-test" }),
            TimeProvider.System,
            NullLogger<RedisConnection>.Instance);
        await connection.ConnectAsync();
        return new QueueHandle(connection, options);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
