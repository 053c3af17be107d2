using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// The API batches' records in Redis, each tenant's list of them, the batches each key has running, those not ended,
/// and every batch under its status.
/// </summary>
/// <remarks>
/// A batch is moved from one status set to the next with every write of its record, in the same transaction, so the
/// batches by status are counted with a ZCOUNT per status rather than by reading every batch.
/// </remarks>
public sealed class ApiBatchStore(RedisConnection redis, IOptions<QueueOptions> queue, IOptions<ApiOptions> options, TimeProvider time)
{
    private IDatabase Db => redis.Database;

    public ApiRedisKeys Keys { get; } = new(queue.Value.Name);

    public async Task<OpenAiBatchRecord?> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return OpenAiBatchRecord.From(await Db.HashGetAllAsync(Keys.Batch(batchId)).ConfigureAwait(false));
    }

    /// <summary>Stores a new batch's record and lists it as its tenant's, its key's running, and not ended.</summary>
    /// <returns>False when the batch exists already; nothing is written then.</returns>
    public async Task<bool> CreateAsync(string batchId, OpenAiBatchRecord record, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = Keys.Batch(batchId);
        var created = record.CreatedAt.ToUnixTimeMilliseconds();
        var transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(key));
        _ = transaction.HashSetAsync(key, record.ToHash());
        _ = transaction.SortedSetAddAsync(Keys.Batches(record.Tenant), batchId, created);
        _ = transaction.SortedSetAddAsync(Keys.Open, batchId, created);
        _ = transaction.SetAddAsync(Keys.Active(record.KeyId), batchId);
        Track(transaction, batchId, record);
        return await transaction.ExecuteAsync().ConfigureAwait(false);
    }

    public async Task SaveAsync(string batchId, OpenAiBatchRecord record, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var transaction = Db.CreateTransaction();
        _ = transaction.HashSetAsync(Keys.Batch(batchId), record.ToHash());
        Track(transaction, batchId, record);
        await transaction.ExecuteAsync().ConfigureAwait(false);
    }

    /// <summary>How many batches are in each status (<see cref="OpenAiBatchStates.All"/>), ended ones whose record has expired not counted.</summary>
    /// <remarks>One round trip of a ZCOUNT per status; the caller waits for the tasks.</remarks>
    public IReadOnlyList<(string Status, Task<long> Count)> CountByStatus(IBatch batch)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return OpenAiBatchStates.All
            .Select(status => (status, batch.SortedSetLengthAsync(Keys.Status(status), now, double.PositiveInfinity, Exclude.Start)))
            .ToList();
    }

    /// <summary>Drops from the status sets the ended batches whose record has expired: the sweep's bounded clean-up.</summary>
    public Task TrimStatusesAsync()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var batch = Db.CreateBatch();
        var trims = OpenAiBatchStates.All.Select(status => batch.SortedSetRemoveRangeByScoreAsync(Keys.Status(status), double.NegativeInfinity, now)).ToArray();
        batch.Execute();
        return Task.WhenAll(trims);
    }

    /// <summary>Puts a batch in its status' set (and in no other), scored by when its record expires: never while it runs.</summary>
    private void Track(ITransaction transaction, string batchId, OpenAiBatchRecord record)
    {
        var status = record.Status;
        var expires = record.EndedStatus is null ? double.PositiveInfinity : (time.GetUtcNow() + options.Value.FileTtl).ToUnixTimeMilliseconds();
        foreach (var other in OpenAiBatchStates.All.Where(s => s != status))
        {
            _ = transaction.SortedSetRemoveAsync(Keys.Status(other), batchId);
        }

        _ = transaction.SortedSetAddAsync(Keys.Status(status), batchId, expires);
    }

    /// <summary>Saves a batch that has ended: it no longer counts as running, and its record expires after <see cref="ApiOptions.FileTtl"/>.</summary>
    public async Task EndAsync(string batchId, OpenAiBatchRecord record, CancellationToken cancellationToken)
    {
        await SaveAsync(batchId, record, cancellationToken).ConfigureAwait(false);
        await Db.SetRemoveAsync(Keys.Active(record.KeyId), batchId).ConfigureAwait(false);
        await Db.KeyExpireAsync(Keys.Batch(batchId), options.Value.FileTtl).ConfigureAwait(false);
    }

    /// <summary>Takes an ended batch off the sweep's list once its end is recorded and told.</summary>
    public Task CloseAsync(string batchId) => Db.SortedSetRemoveAsync(Keys.Open, batchId);

    /// <summary>Forgets a batch whose record is gone: off the sweep's list, and counted in no status.</summary>
    public async Task DropAsync(string batchId)
    {
        await CloseAsync(batchId).ConfigureAwait(false);
        foreach (var status in OpenAiBatchStates.All)
        {
            await Db.SortedSetRemoveAsync(Keys.Status(status), batchId).ConfigureAwait(false);
        }
    }

    /// <summary>A retried batch runs again: it counts as running, the sweep visits it, and its record is kept.</summary>
    public async Task ReopenAsync(string batchId, OpenAiBatchRecord record, CancellationToken cancellationToken)
    {
        await SaveAsync(batchId, record, cancellationToken).ConfigureAwait(false);
        await Db.KeyPersistAsync(Keys.Batch(batchId)).ConfigureAwait(false);
        await Db.SetAddAsync(Keys.Active(record.KeyId), batchId).ConfigureAwait(false);
        await Db.SortedSetAddAsync(Keys.Open, batchId, record.CreatedAt.ToUnixTimeMilliseconds()).ConfigureAwait(false);
    }

    /// <summary>How many batches of a key have not ended; entries of batches gone from Redis are dropped on the way.</summary>
    public async Task<int> RunningAsync(string keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var running = 0;
        foreach (var batchId in await Db.SetMembersAsync(Keys.Active(keyId)).ConfigureAwait(false))
        {
            if (await Db.KeyExistsAsync(Keys.Batch(batchId!)).ConfigureAwait(false))
            {
                running++;
            }
            else
            {
                await Db.SetRemoveAsync(Keys.Active(keyId), batchId).ConfigureAwait(false);
            }
        }

        return running;
    }

    /// <summary>Batches whose end is not recorded yet, oldest first, from the <paramref name="skip"/>th: a page of the sweep.</summary>
    public async Task<IReadOnlyList<string>> OpenAsync(int skip, int take) =>
        (await Db.SortedSetRangeByRankAsync(Keys.Open, skip, skip + take - 1).ConfigureAwait(false)).Select(id => (string)id!).ToList();

    /// <summary>A tenant's batch ids, newest first, after <paramref name="after"/>: up to <paramref name="limit"/> and whether there are more.</summary>
    public async Task<(IReadOnlyList<string> Ids, bool HasMore)> ListAsync(string tenant, string? after, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var list = Keys.Batches(tenant);
        var start = after is not null && await Db.SortedSetRankAsync(list, after, Order.Descending).ConfigureAwait(false) is { } rank ? rank + 1 : 0;
        var ids = (await Db.SortedSetRangeByRankAsync(list, start, start + limit, Order.Descending).ConfigureAwait(false)).Select(id => (string)id!).ToList();
        return (ids.Take(limit).ToList(), ids.Count > limit);
    }

    /// <summary>Drops a batch from its tenant's list, once its record has expired.</summary>
    public Task ForgetAsync(string tenant, string batchId) => Db.SortedSetRemoveAsync(Keys.Batches(tenant), batchId);
}
