using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The work queue in Redis: a ready list, leases with deadlines, results and a dead-letter list.
/// Every state change is one Lua script, so no item ever lives only in a process's memory.
/// </summary>
/// <remarks>
/// Lease deadlines use the Redis server's clock (<c>TIME</c>), so silos with skewed clocks agree on expiry.
/// Batch counters are keyed dynamically inside the scripts, which is fine for a single Redis (not Redis Cluster).
/// </remarks>
public sealed partial class RedisWorkQueue(IConnectionMultiplexer redis, IOptions<QueueOptions> options)
{
    private readonly QueueOptions _options = options.Value;

    public QueueKeys Keys { get; } = new(options.Value.Name);

    private IDatabase Db => redis.GetDatabase();

    // Shared by the scripts: the batch of an item, read from the envelope prefix (see QueueItem.EnvelopePrefix).
    private const string Prelude = """
        local function batch_of(v)
          return string.match(v, '^{"olm":{"b":"([%w%._%-]+)"') or 'default'
        end
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        """;

    private const string LeaseScript = Prelude + """
        local deadline = now_ms() + tonumber(ARGV[2])
        local out = {}
        for i = 1, tonumber(ARGV[1]) do
          local v = redis.call('LPOP', KEYS[1])
          if not v then break end
          local id = tostring(redis.call('INCR', KEYS[6]))
          redis.call('HSET', KEYS[2], id, v)
          redis.call('HSET', KEYS[3], id, ARGV[3])
          redis.call('ZADD', KEYS[4], deadline, id)
          redis.call('HINCRBY', ARGV[4] .. batch_of(v), 'inflight', 1)
          out[#out + 1] = id
          out[#out + 1] = v
          out[#out + 1] = redis.call('HGET', KEYS[5], redis.sha1hex(v)) or '0'
        end
        return out
        """;

    /// <summary>Atomically moves up to <paramref name="max"/> items from the head of the ready list into leases held by <paramref name="owner"/>.</summary>
    public async Task<IReadOnlyList<Lease>> LeaseAsync(string owner, int max, TimeSpan duration, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            LeaseScript,
            [Keys.Ready, Keys.InFlight, Keys.Owners, Keys.Deadlines, Keys.Attempts, Keys.LeaseSequence],
            [max, (long)duration.TotalMilliseconds, owner, Keys.BatchPrefix]).ConfigureAwait(false))!;
        var leases = new List<Lease>(result.Length / 3);
        for (var i = 0; i + 2 < result.Length; i += 3)
        {
            leases.Add(new Lease((string)result[i]!, (string)result[i + 1]!, (int)result[i + 2]));
        }

        return leases;
    }

    private const string RenewScript = Prelude + """
        local deadline = now_ms() + tonumber(ARGV[1])
        local n = 0
        for i = 3, #ARGV do
          if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[2] then
            redis.call('ZADD', KEYS[2], 'XX', deadline, ARGV[i])
            n = n + 1
          end
        end
        return n
        """;

    /// <summary>Pushes back the deadline of the leases <paramref name="owner"/> still holds.</summary>
    /// <returns>How many of them it still held.</returns>
    public async Task<int> RenewAsync(string owner, IReadOnlyCollection<string> leaseIds, TimeSpan duration, CancellationToken cancellationToken)
    {
        if (leaseIds.Count == 0)
        {
            return 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [(long)duration.TotalMilliseconds, owner, .. leaseIds.Select(id => (RedisValue)id)];
        return (int)await Db.ScriptEvaluateAsync(RenewScript, [Keys.Owners, Keys.Deadlines], args).ConfigureAwait(false);
    }

    private const string CompleteScript = Prelude + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        local added = redis.call('HSETNX', KEYS[6], ARGV[2], ARGV[3])
        if added == 0 then redis.call('INCR', KEYS[7]) end
        if v then
          redis.call('HDEL', KEYS[1], ARGV[1])
          redis.call('HDEL', KEYS[2], ARGV[1])
          redis.call('ZREM', KEYS[3], ARGV[1])
          redis.call('HDEL', KEYS[4], ARGV[1])
          redis.call('HDEL', KEYS[5], redis.sha1hex(v))
          redis.call('HINCRBY', ARGV[4] .. batch_of(v), 'inflight', -1)
        end
        return added
        """;

    /// <summary>Writes the result and drops the lease in one step. The first result for an item id wins.</summary>
    /// <returns>False when the item already had a result (it was processed twice).</returns>
    public async Task<bool> CompleteAsync(Lease lease, string batchId, string itemId, string resultJson, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var added = await Db.ScriptEvaluateAsync(
            CompleteScript,
            [Keys.InFlight, Keys.Owners, Keys.Deadlines, Keys.LeaseErrors, Keys.Attempts, Keys.Results(batchId), Keys.Duplicates],
            [lease.Id, itemId, resultJson, Keys.BatchPrefix]).ConfigureAwait(false);
        return (int)added == 1;
    }

    private const string FailScript = Prelude + """
        if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
        redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
        redis.call('ZADD', KEYS[2], 'XX', now_ms() + tonumber(ARGV[4]), ARGV[1])
        return 1
        """;

    /// <summary>
    /// Records a failed attempt. The lease is left to expire after <paramref name="retryAfter"/>; the sweep then
    /// counts the attempt and puts the item back at the head of the ready list, or dead-letters it.
    /// </summary>
    public async Task FailAsync(Lease lease, string owner, string error, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.ScriptEvaluateAsync(
            FailScript,
            [Keys.Owners, Keys.Deadlines, Keys.LeaseErrors],
            [lease.Id, owner, error, (long)retryAfter.TotalMilliseconds]).ConfigureAwait(false);
    }

    private const string SweepScript = Prelude + """
        local now = now_ms()
        local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
        local requeued, dead = 0, 0
        for _, id in ipairs(ids) do
          local v = redis.call('HGET', KEYS[2], id)
          local owner = redis.call('HGET', KEYS[3], id) or '?'
          local err = redis.call('HGET', KEYS[5], id) or ('lease expired (owner ' .. owner .. ')')
          redis.call('HDEL', KEYS[2], id)
          redis.call('HDEL', KEYS[3], id)
          redis.call('ZREM', KEYS[4], id)
          redis.call('HDEL', KEYS[5], id)
          if v then
            local b = batch_of(v)
            redis.call('HINCRBY', ARGV[2] .. b, 'inflight', -1)
            local sha = redis.sha1hex(v)
            local a = redis.call('HINCRBY', KEYS[6], sha, 1)
            if a >= tonumber(ARGV[1]) then
              redis.call('HDEL', KEYS[6], sha)
              redis.call('RPUSH', KEYS[7], cjson.encode({reason = 'failed ' .. a .. ' attempts', error = err,
                attempts = a, batch = b, owner = owner, at = now, item = v}))
              redis.call('HINCRBY', ARGV[2] .. b, 'dead', 1)
              dead = dead + 1
            else
              redis.call('LPUSH', KEYS[1], v)
              requeued = requeued + 1
            end
          end
        end
        return {requeued, dead}
        """;

    /// <summary>
    /// Hands back every lease past its deadline: the item returns to the head of the ready list with one more failed
    /// attempt, or goes to the dead-letter list once it has failed <see cref="QueueOptions.MaxAttempts"/> times.
    /// Safe to run from any number of silos at once.
    /// </summary>
    public async Task<(int Requeued, int DeadLettered)> RequeueExpiredAsync(CancellationToken cancellationToken, int limit = 500)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            SweepScript,
            [Keys.Ready, Keys.InFlight, Keys.Owners, Keys.Deadlines, Keys.LeaseErrors, Keys.Attempts, Keys.DeadLetter],
            [_options.MaxAttempts, Keys.BatchPrefix, limit]).ConfigureAwait(false))!;
        return ((int)result[0], (int)result[1]);
    }

    private const string DeadLetterScript = Prelude + """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if not v then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('HDEL', KEYS[4], ARGV[1])
        redis.call('HDEL', KEYS[5], redis.sha1hex(v))
        redis.call('RPUSH', KEYS[6], ARGV[2])
        local b = batch_of(v)
        redis.call('HINCRBY', ARGV[3] .. b, 'inflight', -1)
        redis.call('HINCRBY', ARGV[3] .. b, 'dead', 1)
        return 1
        """;

    /// <summary>Moves a leased item straight to the dead-letter list, e.g. because it is malformed.</summary>
    public async Task DeadLetterAsync(Lease lease, string batchId, string owner, string reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var entry = new DeadLetter(reason, null, lease.FailedAttempts + 1, batchId, owner, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), lease.Payload);
        await Db.ScriptEvaluateAsync(
            DeadLetterScript,
            [Keys.InFlight, Keys.Owners, Keys.Deadlines, Keys.LeaseErrors, Keys.Attempts, Keys.DeadLetter],
            [lease.Id, JsonSerializer.Serialize(entry, QueueJsonContext.Default.DeadLetter), Keys.BatchPrefix]).ConfigureAwait(false);
    }

    private const string ReleaseScript = Prelude + """
        local n = 0
        for i = #ARGV, 3, -1 do
          local id = ARGV[i]
          if redis.call('HGET', KEYS[3], id) == ARGV[1] then
            local v = redis.call('HGET', KEYS[2], id)
            redis.call('HDEL', KEYS[2], id)
            redis.call('HDEL', KEYS[3], id)
            redis.call('ZREM', KEYS[4], id)
            redis.call('HDEL', KEYS[5], id)
            if v then
              redis.call('LPUSH', KEYS[1], v)
              redis.call('HINCRBY', ARGV[2] .. batch_of(v), 'inflight', -1)
              n = n + 1
            end
          end
        end
        return n
        """;

    /// <summary>
    /// Puts unfinished leased items straight back at the head of the ready list, in their order, without counting
    /// an attempt: used when a silo drains and stops before they finish.
    /// </summary>
    public async Task<int> ReleaseAsync(string owner, IReadOnlyCollection<string> leaseIds, CancellationToken cancellationToken)
    {
        if (leaseIds.Count == 0)
        {
            return 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [owner, Keys.BatchPrefix, .. leaseIds.Select(id => (RedisValue)id)];
        return (int)await Db.ScriptEvaluateAsync(
            ReleaseScript, [Keys.Ready, Keys.InFlight, Keys.Owners, Keys.Deadlines, Keys.LeaseErrors], args).ConfigureAwait(false);
    }

    private const string ExpireOwnersScript = """
        local dead = {}
        for i = 2, #ARGV do dead[ARGV[i]] = true end
        local owners = redis.call('HGETALL', KEYS[1])
        local n = 0
        for i = 1, #owners, 2 do
          if dead[owners[i + 1]] then
            redis.call('ZADD', KEYS[2], 'XX', 0, owners[i])
            redis.call('HSET', KEYS[3], owners[i], ARGV[1] .. ' (' .. owners[i + 1] .. ')')
            n = n + 1
          end
        end
        return n
        """;

    /// <summary>
    /// Hands back at once every lease held by <paramref name="owners"/> (silos known to be dead): each counts as a
    /// failed attempt with <paramref name="reason"/>, and goes to the head of the ready list or to dead-letter.
    /// </summary>
    /// <returns>How many leases those owners held.</returns>
    public async Task<int> RecoverOwnersAsync(IReadOnlyCollection<string> owners, string reason, CancellationToken cancellationToken)
    {
        if (owners.Count == 0)
        {
            return 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [reason, .. owners.Select(o => (RedisValue)o)];
        var expired = (int)await Db.ScriptEvaluateAsync(ExpireOwnersScript, [Keys.Owners, Keys.Deadlines, Keys.LeaseErrors], args).ConfigureAwait(false);
        if (expired > 0)
        {
            await RequeueExpiredAsync(cancellationToken, limit: Math.Max(500, expired)).ConfigureAwait(false);
        }

        return expired;
    }

    /// <summary>How many leases each owner holds right now.</summary>
    public async Task<Dictionary<string, long>> LeasesByOwnerAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var owners = await Db.HashValuesAsync(Keys.Owners).ConfigureAwait(false);
        return owners.GroupBy(o => (string)o!).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
    }

    private const string EnqueueScript = """
        local added = 0
        for i = 1, #ARGV, 2 do
          if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then
            redis.call('RPUSH', KEYS[1], ARGV[i + 1])
            added = added + 1
          end
        end
        return added
        """;

    /// <summary>Appends a batch's items to the ready list, skipping ids the batch already has.</summary>
    /// <returns>How many were new.</returns>
    public async Task<int> EnqueueAsync(string batchId, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var args = new RedisValue[items.Count * 2];
        for (var i = 0; i < items.Count; i++)
        {
            args[2 * i] = items[i].Id;
            args[2 * i + 1] = QueueItem.Envelope(batchId, items[i].Id, items[i].Json);
        }

        return (int)await Db.ScriptEvaluateAsync(EnqueueScript, [Keys.Ready, Keys.BatchIds(batchId)], args).ConfigureAwait(false);
    }
}
