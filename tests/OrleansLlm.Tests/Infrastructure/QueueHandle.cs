using Microsoft.Extensions.Logging.Abstractions;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using System.Text.Json;
using StackExchange.Redis;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>The queue (leases and items) and the batch store of one queue name, on their own real Redis connection, outside any silo.</summary>
public sealed class QueueHandle : IAsyncDisposable
{
    private readonly RedisConnection _connection;

    private QueueHandle(RedisConnection connection, QueueOptions options, QueueClock clock, TimeProvider time)
    {
        _connection = connection;
        Queue = new RedisLeaseQueue(connection, MsOptions.Create(options), clock);
        Items = new RedisQueueItems(connection, MsOptions.Create(options), clock, time);
        Batches = new RedisBatchStore(connection, Items, MsOptions.Create(options), clock, time);
    }

    public RedisLeaseQueue Queue { get; }

    public RedisQueueItems Items { get; }

    public RedisBatchStore Batches { get; }

    public QueueKeys Keys => Queue.Keys;

    public IDatabase Db => _connection.Database;

    /// <param name="time">The clock of the queue's scripts, its items and the batch store: the real one unless given.</param>
    public static async Task<QueueHandle> ConnectAsync(string connectionString, QueueOptions options, TimeProvider? time = null)
    {
        var connection = new RedisConnection(
            MsOptions.Create(new RedisOptions { ConnectionString = connectionString, ClientName = "orleansllm-test" }),
            TimeProvider.System,
            NullLogger<RedisConnection>.Instance);
        await connection.ConnectAsync();
        return new QueueHandle(connection, options, time is null ? QueueClock.Redis : QueueClock.From(time), time ?? TimeProvider.System);
    }

    /// <summary>Every dead letter of the queue: the raw items' first, then each batch's in creation order.</summary>
    public Task<JsonElement[]> DeadLettersAsync() => DeadLettersAsync(Db, Keys);

    /// <inheritdoc cref="DeadLettersAsync()"/>
    public static async Task<JsonElement[]> DeadLettersAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var batches = (await db.SortedSetRangeByRankAsync(keys.Batches)).Select(b => (string)b!);
        var all = new List<JsonElement>();
        foreach (var batch in (string[])[BatchIds.Default, .. batches])
        {
            all.AddRange((await db.ListRangeAsync(keys.DeadLetters(batch))).Select(v => JsonDocument.Parse((string)v!).RootElement.Clone()));
        }

        return [.. all];
    }

    /// <summary>The raw items' results of every day still kept, id → document.</summary>
    public static async Task<Dictionary<string, string>> RawResultsAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var results = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var day in await db.SortedSetRangeByRankAsync(keys.RawDays))
        {
            foreach (var entry in await db.HashGetAllAsync(keys.RawResults((long)day)))
            {
                results[(string)entry.Name!] = (string)entry.Value!;
            }
        }

        return results;
    }

    /// <summary>How many raw items' results are kept, over every day.</summary>
    public static async Task<long> RawResultCountAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var count = 0L;
        foreach (var day in await db.SortedSetRangeByRankAsync(keys.RawDays))
        {
            count += await db.HashLengthAsync(keys.RawResults((long)day));
        }

        return count;
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
