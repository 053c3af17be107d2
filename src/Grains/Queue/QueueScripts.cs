namespace OrleansLlm.Queue;

/// <summary>
/// Every Lua script of the queue and the batch store, in one place. Each state change of an item is one script, so
/// it happens entirely or not at all, and no item ever lives only in a process's memory.
/// </summary>
/// <remarks>
/// <para>
/// Every script gets the same first keys (<see cref="QueueKeys.Common"/>), named in <see cref="Prelude"/>, then the
/// keys of one batch it also touches (<c>KEYS[14]</c> onwards). Every key a script touches is declared, so the
/// scripts run on Redis Cluster when the queue name carries a hash tag.
/// </para>
/// <para>
/// Lease deadlines and retry times use the Redis server's clock (<c>TIME</c>), so silos with skewed clocks agree.
/// </para>
/// </remarks>
internal static class QueueScripts
{
    /// <summary>The shared helpers. <c>batch_of</c> is the twin of <see cref="Envelope.BatchOf"/>.</summary>
    private const string Prelude = """
        local ready, inflight, owners, deadlines, retries, lease_errors, attempts, dead, lease_seq,
              batch_inflight, batch_dead, recovered, duplicates =
              KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9],
              KEYS[10], KEYS[11], KEYS[12], KEYS[13]

        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        -- The batch an item counts for: the envelope's, if its id is valid (BatchIds.IsValid:
        -- ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$), else 'default'. Redis runs Lua in the C locale, so %w is ASCII.
        local function batch_of(v)
          local b = string.match(v, '^{"olm":{"b":"([%w][%w%._%-]*)"')
          if b and #b <= 64 then return b end
          return 'default'
        end

        -- Drops every trace of a lease and returns its item (nil if the lease was already gone).
        local function drop_lease(id)
          local v = redis.call('HGET', inflight, id)
          redis.call('HDEL', inflight, id)
          redis.call('HDEL', owners, id)
          redis.call('ZREM', deadlines, id)
          redis.call('ZREM', retries, id)
          redis.call('HDEL', lease_errors, id)
          if v then redis.call('HINCRBY', batch_inflight, batch_of(v), -1) end
          return v
        end

        -- Puts an item on the dead-letter list with why; its attempts are forgotten.
        local function dead_letter(v, reason, err, tries, owner, now)
          local b = batch_of(v)
          redis.call('RPUSH', dead, cjson.encode({reason = reason, error = err, attempts = tries, batch = b,
            owner = owner, at = now, item = v}))
          redis.call('HINCRBY', batch_dead, b, 1)
          redis.call('HDEL', attempts, redis.sha1hex(v))
        end

        -- Counts a failed attempt at an item whose lease is already dropped: it goes back to the head of the
        -- ready list, or to the dead-letter list once it has failed max_attempts times. True when dead-lettered.
        local function requeue_or_bury(v, err, owner, max_attempts, now)
          local a = redis.call('HINCRBY', attempts, redis.sha1hex(v), 1)
          if a >= max_attempts then
            dead_letter(v, 'failed ' .. a .. ' attempts', err, a, owner, now)
            return true
          end
          redis.call('LPUSH', ready, v)
          return false
        end

        """;

    /// <summary>
    /// ARGV: max, lease duration (ms), owner. Returns id, item, failed attempts for each lease. Failed items whose
    /// backoff has passed come first (they keep their lease id), then items from the head of the ready list.
    /// </summary>
    public const string Lease = Prelude + """
        local now = now_ms()
        local max, deadline, owner = tonumber(ARGV[1]), now + tonumber(ARGV[2]), ARGV[3]
        local out = {}
        local function take(id, v)
          redis.call('HSET', owners, id, owner)
          redis.call('ZADD', deadlines, deadline, id)
          out[#out + 1] = id
          out[#out + 1] = v
          out[#out + 1] = redis.call('HGET', attempts, redis.sha1hex(v)) or '0'
        end
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', retries, '-inf', now, 'LIMIT', 0, max)) do
          redis.call('ZREM', retries, id)
          redis.call('HDEL', lease_errors, id)
          local v = redis.call('HGET', inflight, id)
          if v then take(id, v) end
        end
        while #out < max * 3 do
          local v = redis.call('LPOP', ready)
          if not v then break end
          local id = tostring(redis.call('INCR', lease_seq))
          redis.call('HSET', inflight, id, v)
          redis.call('HINCRBY', batch_inflight, batch_of(v), 1)
          take(id, v)
        end
        return out
        """;

    /// <summary>ARGV: duration (ms), owner, lease ids. Returns how many of them the owner still held.</summary>
    public const string Renew = Prelude + """
        local deadline = now_ms() + tonumber(ARGV[1])
        local n = 0
        for i = 3, #ARGV do
          if redis.call('HGET', owners, ARGV[i]) == ARGV[2] then
            redis.call('ZADD', deadlines, 'XX', deadline, ARGV[i])
            n = n + 1
          end
        end
        return n
        """;

    /// <summary>
    /// KEYS[14..16]: the batch's results, result order and items. ARGV: lease, item id, result, item. Writes the
    /// result and drops the lease in one step; the first result for an id wins. Returns 1, or 0 for a duplicate.
    /// </summary>
    /// <remarks>
    /// A lease that expired while its answer was on the way has put the item back in the ready list: the work is
    /// done, so the item is taken out again (from near the head, where it went back).
    /// </remarks>
    public const string Complete = Prelude + """
        local results, order, items = KEYS[14], KEYS[15], KEYS[16]
        local v = drop_lease(ARGV[1])
        if not v then redis.call('LREM', ready, 1, ARGV[4]) end
        redis.call('HDEL', attempts, redis.sha1hex(ARGV[4]))
        local added = redis.call('HSETNX', results, ARGV[2], ARGV[3])
        if added == 1 then
          redis.call('ZADD', order, redis.call('HGET', items, ARGV[2]) or redis.call('HLEN', results), ARGV[2])
        else
          redis.call('INCR', duplicates)
        end
        return added
        """;

    /// <summary>
    /// ARGV: lease, owner, error, retry delay (ms), max attempts. Counts the failed attempt at once: the item is
    /// dead-lettered after max attempts, else it waits out its delay in the retry set (still in flight, so KEDA
    /// counts it) and the next lease after that takes it. Returns 'retry', 'dead', or 'lost' (not the owner's).
    /// </summary>
    public const string Fail = Prelude + """
        local id, owner = ARGV[1], ARGV[2]
        if redis.call('HGET', owners, id) ~= owner then return 'lost' end
        local v = redis.call('HGET', inflight, id)
        local now = now_ms()
        local a = redis.call('HINCRBY', attempts, redis.sha1hex(v), 1)
        if a >= tonumber(ARGV[5]) then
          drop_lease(id)
          dead_letter(v, 'failed ' .. a .. ' attempts', ARGV[3], a, owner, now)
          return 'dead'
        end
        redis.call('HDEL', owners, id)
        redis.call('ZREM', deadlines, id)
        redis.call('HSET', lease_errors, id, ARGV[3])
        redis.call('ZADD', retries, now + tonumber(ARGV[4]), id)
        return 'retry'
        """;

    /// <summary>ARGV: lease, owner, reason. Moves a leased item straight to the dead-letter list. Returns 1, or 0 if not the owner's.</summary>
    public const string DeadLetter = Prelude + """
        if redis.call('HGET', owners, ARGV[1]) ~= ARGV[2] then return 0 end
        local v = drop_lease(ARGV[1])
        local a = tonumber(redis.call('HGET', attempts, redis.sha1hex(v)) or '0') + 1
        dead_letter(v, ARGV[3], nil, a, ARGV[2], now_ms())
        return 1
        """;

    /// <summary>
    /// ARGV: owner, lease ids in lease order. Puts the owner's unfinished items back at the head of the ready list,
    /// in their order, without counting an attempt. Returns how many.
    /// </summary>
    public const string Release = Prelude + """
        local n = 0
        for i = #ARGV, 2, -1 do
          if redis.call('HGET', owners, ARGV[i]) == ARGV[1] then
            local v = drop_lease(ARGV[i])
            if v then
              redis.call('LPUSH', ready, v)
              n = n + 1
            end
          end
        end
        return n
        """;

    /// <summary>
    /// ARGV: limit, max attempts. Hands back leases past their deadline (a frozen or killed owner): each counts as
    /// a failed attempt. Returns {requeued, dead-lettered}.
    /// </summary>
    public const string Sweep = Prelude + """
        local now = now_ms()
        local requeued, buried = 0, 0
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', deadlines, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))) do
          local owner = redis.call('HGET', owners, id) or '?'
          local err = redis.call('HGET', lease_errors, id) or ('lease expired (owner ' .. owner .. ')')
          local v = drop_lease(id)
          if v then
            if requeue_or_bury(v, err, owner, tonumber(ARGV[2]), now) then buried = buried + 1 else requeued = requeued + 1 end
          end
        end
        redis.call('INCRBY', recovered, requeued + buried)
        return {requeued, buried}
        """;

    /// <summary>
    /// ARGV: reason, max attempts, owners known to be dead. Hands back every lease they hold at once: each counts
    /// as a failed attempt. Returns {requeued, dead-lettered}.
    /// </summary>
    public const string Recover = Prelude + """
        local gone = {}
        for i = 3, #ARGV do gone[ARGV[i]] = true end
        local now = now_ms()
        local requeued, buried = 0, 0
        local all = redis.call('HGETALL', owners)
        for i = 1, #all, 2 do
          local id, owner = all[i], all[i + 1]
          if gone[owner] then
            local v = drop_lease(id)
            if v then
              if requeue_or_bury(v, ARGV[1] .. ' (' .. owner .. ')', owner, tonumber(ARGV[2]), now) then
                buried = buried + 1
              else
                requeued = requeued + 1
              end
            end
          end
        end
        redis.call('INCRBY', recovered, requeued + buried)
        return {requeued, buried}
        """;

    /// <summary>
    /// KEYS[14]: the batch's items. ARGV: item id, envelope, item id, envelope, ... Appends the items whose id the
    /// batch does not have yet, numbering them in submission order. Returns how many were new.
    /// </summary>
    public const string Enqueue = Prelude + """
        local items = KEYS[14]
        local added = 0
        for i = 1, #ARGV, 2 do
          if redis.call('HSETNX', items, ARGV[i], redis.call('HLEN', items) + 1) == 1 then
            redis.call('RPUSH', ready, ARGV[i + 1])
            added = added + 1
          end
        end
        return added
        """;

    /// <summary>
    /// KEYS[14..15]: the batch's hash, the batch index. ARGV: batch id, created (ms), then spec field, value, ...
    /// Creates the batch unless it exists. Returns the stored fields of an existing batch, or an empty list.
    /// </summary>
    public const string CreateBatch = Prelude + """
        if redis.call('EXISTS', KEYS[14]) == 1 then return redis.call('HGETALL', KEYS[14]) end
        redis.call('HSET', KEYS[14], 'created', ARGV[2], unpack(ARGV, 3))
        redis.call('ZADD', KEYS[15], ARGV[2], ARGV[1])
        return {}
        """;

    /// <summary>
    /// KEYS[14..16]: the batch's hash, items and results. ARGV: batch id. A consistent snapshot:
    /// {created, sealed, in flight, dead-lettered, total, done}.
    /// </summary>
    public const string Progress = Prelude + """
        local h = redis.call('HMGET', KEYS[14], 'created', 'sealed')
        return {h[1] or '', h[2] or '0', redis.call('HGET', batch_inflight, ARGV[1]) or '0',
          redis.call('HGET', batch_dead, ARGV[1]) or '0', redis.call('HLEN', KEYS[15]), redis.call('HLEN', KEYS[16])}
        """;

    /// <summary>
    /// KEYS[14..15]: the batch's result order and results. ARGV: the ordinal to start after, the page size.
    /// Returns result, ordinal, result, ordinal, ... in ordinal order.
    /// </summary>
    public const string Results = Prelude + """
        local page = redis.call('ZRANGEBYSCORE', KEYS[14], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
        if #page == 0 then return {} end
        local ids = {}
        for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
        local docs = redis.call('HMGET', KEYS[15], unpack(ids))
        local out = {}
        for i = 1, #ids do
          out[#out + 1] = docs[i] or ''
          out[#out + 1] = page[2 * i]
        end
        return out
        """;

    /// <summary>ARGV: payloads. Returns the batch <c>batch_of</c> reads from each: the tests hold it to <see cref="Envelope.BatchOf"/>.</summary>
    public const string BatchOf = Prelude + """
        local out = {}
        for i = 1, #ARGV do out[i] = batch_of(ARGV[i]) end
        return out
        """;
}
