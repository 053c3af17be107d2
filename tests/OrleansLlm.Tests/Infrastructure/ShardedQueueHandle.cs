using Microsoft.Extensions.Logging.Abstractions;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>The partitioned queue (<see cref="QueueOptions.Shards"/>) as the silos use it, on its own real Redis connection, outside any silo.</summary>
public sealed class ShardedQueueHandle : IAsyncDisposable
{
    private readonly RedisConnection _connection;

    private ShardedQueueHandle(RedisConnection connection, QueueOptions options)
    {
        _connection = connection;
        Shards = new QueueShards(MsOptions.Create(options));
        Queue = new ShardedLeaseQueue(connection, Shards, QueueClock.Redis);
        Items = new ShardedQueueItems(connection, Shards, QueueClock.Redis, TimeProvider.System);
        Batches = new ShardedBatchStore(connection, Items, QueueClock.Redis, TimeProvider.System);
    }

    public QueueShards Shards { get; }

    public ShardedLeaseQueue Queue { get; }

    public ShardedQueueItems Items { get; }

    public ShardedBatchStore Batches { get; }

    public IDatabase Db => _connection.Database;

    public static async Task<ShardedQueueHandle> ConnectAsync(string connectionString, QueueOptions options)
    {
        var connection = new RedisConnection(
            MsOptions.Create(new RedisOptions { ConnectionString = connectionString, ClientName = "orleansllm-test" }),
            TimeProvider.System,
            NullLogger<RedisConnection>.Instance);
        await connection.ConnectAsync();
        return new ShardedQueueHandle(connection, options);
    }

    /// <summary>Leases up to <paramref name="max"/> items for a silo that serves every model.</summary>
    public async Task<IReadOnlyList<Lease>> TakeAsync(string owner, int max) =>
        (await Queue.LeaseAsync(owner, max, null, CancellationToken.None)).Leases;

    /// <summary>Stores the item's answer: a document naming its id.</summary>
    public Task<CompleteOutcome> CompleteAsync(Lease lease, string owner)
    {
        var id = QueueTestExtensions.ItemIdOf(lease);
        return Queue.CompleteAsync(lease, owner, id, $$"""{"id":"{{id}}"}""", TokenUsage.Zero, CancellationToken.None);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
