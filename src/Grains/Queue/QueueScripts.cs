namespace OrleansLlm.Queue;

/// <summary>
/// Every Lua script of the queue and the batch store, in one place. Each state change of an item is one script, so
/// it happens entirely or not at all, and no item ever lives only in a process's memory.
/// </summary>
/// <remarks>
/// <para>
/// Every script gets the same first keys (<see cref="QueueKeys.Common"/>) and the same first arguments
/// (<see cref="QueuePolicy.Arguments"/>), both named in <see cref="Prelude"/>; then the keys of one batch it also
/// touches (<c>KEYS[16]</c> onwards) and its own arguments (<c>ARGV[5]</c> onwards). Every key a script touches is
/// declared, so the scripts run on Redis Cluster when the queue name carries a hash tag.
/// </para>
/// <para>
/// Lease deadlines and retry times use the Redis server's clock (<c>TIME</c>), so silos with skewed clocks agree.
/// </para>
/// </remarks>
internal static class QueueScripts
{
    /// <summary>The shared names and helpers. <c>batch_of</c> is the twin of <see cref="Envelope.BatchOf"/>.</summary>
    private const string Prelude = """
        local ready, inflight, owners, deadlines, retries, lease_errors, attempts, dead, lease_seq,
              batch_inflight, batch_dead, recovered, duplicates, envelopes, failed_on =
              KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9],
              KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14], KEYS[15]
        local max_attempts, dead_max_bytes, dead_max_length, result_ttl_ms =
              tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

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

        local function is_enveloped(v) return string.sub(v, 1, 13) == '{"olm":{"b":"' end

        -- The batch an item counts for in the figures: its envelope's only if the batch store enqueued this very
        -- envelope (anyone can push an envelope-shaped item, and a forged one must not finish a batch early).
        local function counted_batch(v)
          if is_enveloped(v) and redis.call('SISMEMBER', envelopes, redis.sha1hex(v)) == 1 then return batch_of(v) end
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
          if v then redis.call('HINCRBY', batch_inflight, counted_batch(v), -1) end
          return v
        end

        -- Forgets an item that is settled for good: its attempts, the silos it failed on, its envelope's mark.
        local function forget(v)
          local sha = redis.sha1hex(v)
          redis.call('HDEL', attempts, sha)
          redis.call('HDEL', failed_on, sha)
          redis.call('SREM', envelopes, sha)
        end

        -- Notes that an item failed on this silo. Returns the silos it failed on, without repeats, this one included.
        local function note_failure(v, silo)
          local sha = redis.sha1hex(v)
          local list = redis.call('HGET', failed_on, sha)
          local silos = {}
          if list then silos = cjson.decode(list) end
          for _, s in ipairs(silos) do if s == silo then return silos end end
          silos[#silos + 1] = silo
          redis.call('HSET', failed_on, sha, cjson.encode(silos))
          return silos
        end

        -- Puts an item on the dead-letter list with why, and the silos it failed on. Past dead_max_bytes only the start
        -- of the item is kept, with its size and SHA-1; the list keeps the newest dead_max_length entries.
        local function dead_letter(v, reason, err, tries, owner, now, answer)
          local b = counted_batch(v)
          local list = redis.call('HGET', failed_on, redis.sha1hex(v))
          local entry = {reason = reason, error = err, attempts = tries, batch = b, owner = owner, at = now,
            item = v, item_sha1 = redis.sha1hex(v), item_bytes = #v}
          -- [formats] The model's answer, when it is why the item is here (it broke the batch's schema).
          if answer then entry.answer = string.sub(answer, 1, dead_max_bytes) end
          if list then entry.failed_on = cjson.decode(list) end
          if #v > dead_max_bytes then
            entry.item = string.sub(v, 1, dead_max_bytes)
            entry.truncated = true
          end
          redis.call('RPUSH', dead, cjson.encode(entry))
          if dead_max_length > 0 then redis.call('LTRIM', dead, -dead_max_length, -1) end
          redis.call('HINCRBY', batch_dead, b, 1)
          forget(v)
        end

        -- Spends one of a leased item's attempts: dead-lettered after max_attempts, else it waits out retry_ms in
        -- the retry set (still in flight, so KEDA counts it) and the next lease after that takes it.
        local function spend_attempt(id, v, owner, err, retry_ms, now)
          local a = redis.call('HINCRBY', attempts, redis.sha1hex(v), 1)
          if a >= max_attempts then
            drop_lease(id)
            dead_letter(v, 'failed ' .. a .. ' attempts', err, a, owner, now)
            return 'dead'
          end
          redis.call('HDEL', owners, id)
          redis.call('ZREM', deadlines, id)
          redis.call('HSET', lease_errors, id, err)
          redis.call('ZADD', retries, now + retry_ms, id)
          return 'retry'
        end

        -- Counts a failed attempt at an item whose lease is already dropped (its owner vanished): back to the head
        -- of the ready list, or to the dead-letter list once it has failed max_attempts times. True when dead-lettered.
        local function requeue_or_bury(v, err, owner, now)
          local a = redis.call('HINCRBY', attempts, redis.sha1hex(v), 1)
          if a >= max_attempts then
            dead_letter(v, 'failed ' .. a .. ' attempts', err, a, owner, now)
            return true
          end
          redis.call('LPUSH', ready, v)
          return false
        end

        -- [formats] Adds what Ollama did for an answer to its batch's usage (hash KEYS, fields B:prompt, B:completion,
        -- B:ollama_ms). Every answer counts, whatever became of it: the tokens were spent.
        local function add_usage(usage, v, prompt, completion, ms)
          local b = counted_batch(v)
          redis.call('HINCRBY', usage, b .. ':prompt', prompt)
          redis.call('HINCRBY', usage, b .. ':completion', completion)
          redis.call('HINCRBY', usage, b .. ':ollama_ms', ms)
        end

        """;

    /// <summary>
    /// ARGV[5..7]: max, lease duration (ms), owner. Returns id, item, failed attempts, envelope mark for each lease:
    /// the mark is '1' for an envelope the batch store enqueued, '0' for one it did not (forged), '' for a raw item.
    /// Failed items whose backoff has passed come first (they keep their lease id), then the head of the ready list.
    /// </summary>
    /// <remarks>
    /// A new lease id carries the Redis clock beside the sequence: if Redis rolls back to an older AOF and the
    /// sequence with it, the ids issued since still never come again.
    /// </remarks>
    public const string Lease = Prelude + """
        local now = now_ms()
        local max, deadline, owner = tonumber(ARGV[5]), now + tonumber(ARGV[6]), ARGV[7]
        local out = {}
        local function take(id, v)
          redis.call('HSET', owners, id, owner)
          redis.call('ZADD', deadlines, deadline, id)
          local sha = redis.sha1hex(v)
          out[#out + 1] = id
          out[#out + 1] = v
          out[#out + 1] = redis.call('HGET', attempts, sha) or '0'
          if is_enveloped(v) then
            out[#out + 1] = tostring(redis.call('SISMEMBER', envelopes, sha))
          else
            out[#out + 1] = ''
          end
        end
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', retries, '-inf', now, 'LIMIT', 0, max)) do
          redis.call('ZREM', retries, id)
          redis.call('HDEL', lease_errors, id)
          local v = redis.call('HGET', inflight, id)
          if v then take(id, v) end
        end
        while #out < max * 4 do
          local v = redis.call('LPOP', ready)
          if not v then break end
          local id = redis.call('INCR', lease_seq) .. '-' .. now
          redis.call('HSET', inflight, id, v)
          redis.call('HINCRBY', batch_inflight, counted_batch(v), 1)
          take(id, v)
        end
        return out
        """;

    /// <summary>ARGV[5..]: duration (ms), owner, lease ids. Returns how many of them the owner still held.</summary>
    public const string Renew = Prelude + """
        local deadline = now_ms() + tonumber(ARGV[5])
        local n = 0
        for i = 7, #ARGV do
          if redis.call('HGET', owners, ARGV[i]) == ARGV[6] then
            redis.call('ZADD', deadlines, 'XX', deadline, ARGV[i])
            n = n + 1
          end
        end
        return n
        """;

    /// <summary>
    /// KEYS[16..19]: the batch's results, result order and items, the usage hash. ARGV[5..12]: lease, owner, item id,
    /// result, item, prompt tokens, completion tokens, Ollama ms. Writes the result, adds the answer's usage and drops
    /// the lease in one step; the first result for an id wins. Returns 1, or 0 for a duplicate.
    /// </summary>
    /// <remarks>
    /// A lease that expired while its answer was on the way has put the item back in the ready list: the work is
    /// done, so the item is taken out again (from near the head, where it went back).
    /// </remarks>
    public const string Complete = Prelude + """
        local results, order, items = KEYS[16], KEYS[17], KEYS[18]
        local lease, owner, item_id, result, item = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
        add_usage(KEYS[19], item, ARGV[10], ARGV[11], ARGV[12])
        if redis.call('HGET', owners, lease) == owner then
          drop_lease(lease)
        else
          redis.call('LREM', ready, 1, item)
        end
        forget(item)
        local added = redis.call('HSETNX', results, item_id, result)
        if added == 1 then
          redis.call('ZADD', order, redis.call('HGET', items, item_id) or redis.call('HLEN', results), item_id)
        else
          redis.call('INCR', duplicates)
        end
        if result_ttl_ms > 0 then
          redis.call('PEXPIRE', results, result_ttl_ms)
          redis.call('PEXPIRE', order, result_ttl_ms)
        end
        return added
        """;

    /// <summary>
    /// ARGV[5..6]: lease, owner. Drops the lease of an item whose id already has the very same result (delivered
    /// twice), counting a duplicate. Returns 1, or 0 if the lease was not the owner's.
    /// </summary>
    public const string Discard = Prelude + """
        if redis.call('HGET', owners, ARGV[5]) ~= ARGV[6] then return 0 end
        local v = drop_lease(ARGV[5])
        if v then forget(v) end
        redis.call('INCR', duplicates)
        return 1
        """;

    /// <summary>
    /// ARGV[5..8]: lease, owner, error, retry delay (ms). The item failed on a healthy backend: counts the failed
    /// attempt at once (see <c>spend_attempt</c>). Returns 'retry', 'dead', or 'lost' (not the owner's).
    /// </summary>
    public const string Fail = Prelude + """
        local id, owner = ARGV[5], ARGV[6]
        if redis.call('HGET', owners, id) ~= owner then return 'lost' end
        local v = redis.call('HGET', inflight, id)
        note_failure(v, owner)
        return spend_attempt(id, v, owner, ARGV[7], tonumber(ARGV[8]), now_ms())
        """;

    /// <summary>
    /// ARGV[5..8]: lease, owner, error, retry delay (ms). The owner's backend failed (unreachable, 5xx, no model, a
    /// timeout), so the item goes back to the head of the ready list without spending an attempt, for another silo.
    /// An item that has now failed on two or more silos is suspect itself and spends an attempt as in <see cref="Fail"/>,
    /// so an item that breaks every backend is still dead-lettered in the end. Returns 'released', 'retry', 'dead' or 'lost'.
    /// </summary>
    public const string BackendFault = Prelude + """
        local id, owner = ARGV[5], ARGV[6]
        if redis.call('HGET', owners, id) ~= owner then return 'lost' end
        local v = redis.call('HGET', inflight, id)
        if #note_failure(v, owner) >= 2 then
          return spend_attempt(id, v, owner, ARGV[7], tonumber(ARGV[8]), now_ms())
        end
        drop_lease(id)
        redis.call('LPUSH', ready, v)
        return 'released'
        """;

    /// <summary>
    /// ARGV[5..7]: lease, owner, reason; then, for an answer that is itself the problem, ARGV[8..12]: error, answer,
    /// prompt tokens, completion tokens, Ollama ms (KEYS[16]: the usage hash). Moves a leased item straight to the
    /// dead-letter list. Returns 1, or 0 if not the owner's.
    /// </summary>
    public const string DeadLetter = Prelude + """
        if redis.call('HGET', owners, ARGV[5]) ~= ARGV[6] then return 0 end
        local v = drop_lease(ARGV[5])
        local a = tonumber(redis.call('HGET', attempts, redis.sha1hex(v)) or '0') + 1
        if ARGV[9] then add_usage(KEYS[16], v, ARGV[10], ARGV[11], ARGV[12]) end
        dead_letter(v, ARGV[7], ARGV[8], a, ARGV[6], now_ms(), ARGV[9])
        return 1
        """;

    /// <summary>
    /// ARGV[5..]: owner, lease ids in lease order. Puts the owner's unfinished items back at the head of the ready
    /// list, in their order, without counting an attempt. Returns how many.
    /// </summary>
    public const string Release = Prelude + """
        local n = 0
        for i = #ARGV, 6, -1 do
          if redis.call('HGET', owners, ARGV[i]) == ARGV[5] then
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
    /// ARGV[5]: limit. Hands back leases past their deadline (a frozen or killed owner): each counts as a failed
    /// attempt. Returns {requeued, dead-lettered}.
    /// </summary>
    public const string Sweep = Prelude + """
        local now = now_ms()
        local requeued, buried = 0, 0
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', deadlines, '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))) do
          local owner = redis.call('HGET', owners, id) or '?'
          local err = redis.call('HGET', lease_errors, id) or ('lease expired (owner ' .. owner .. ')')
          local v = drop_lease(id)
          if v then
            if requeue_or_bury(v, err, owner, now) then buried = buried + 1 else requeued = requeued + 1 end
          end
        end
        redis.call('INCRBY', recovered, requeued + buried)
        return {requeued, buried}
        """;

    /// <summary>
    /// ARGV[5..]: reason, owners known to be dead. Hands back every lease they hold at once: each counts as a
    /// failed attempt. Returns {requeued, dead-lettered}.
    /// </summary>
    public const string Recover = Prelude + """
        local gone = {}
        for i = 6, #ARGV do gone[ARGV[i]] = true end
        local now = now_ms()
        local requeued, buried = 0, 0
        local all = redis.call('HGETALL', owners)
        for i = 1, #all, 2 do
          local id, owner = all[i], all[i + 1]
          if gone[owner] then
            local v = drop_lease(id)
            if v then
              if requeue_or_bury(v, ARGV[5] .. ' (' .. owner .. ')', owner, now) then
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
    /// KEYS[16]: the batch's items. ARGV[5..]: item id, envelope, item id, envelope, ... Appends the items whose id
    /// the batch does not have yet, numbering them in submission order, and marks their envelopes as genuine.
    /// Returns how many were new.
    /// </summary>
    public const string Enqueue = Prelude + """
        local items = KEYS[16]
        local added = 0
        for i = 5, #ARGV, 2 do
          if redis.call('HSETNX', items, ARGV[i], redis.call('HLEN', items) + 1) == 1 then
            redis.call('SADD', envelopes, redis.sha1hex(ARGV[i + 1]))
            redis.call('RPUSH', ready, ARGV[i + 1])
            added = added + 1
          end
        end
        return added
        """;

    /// <summary>
    /// KEYS[16..17]: the batch's hash, the batch index. ARGV[5..]: batch id, created (ms), then spec field, value, ...
    /// Creates the batch unless it exists. Returns the stored fields of an existing batch, or an empty list.
    /// </summary>
    public const string CreateBatch = Prelude + """
        if redis.call('EXISTS', KEYS[16]) == 1 then return redis.call('HGETALL', KEYS[16]) end
        redis.call('HSET', KEYS[16], 'created', ARGV[6], unpack(ARGV, 7))
        redis.call('ZADD', KEYS[17], ARGV[6], ARGV[5])
        return {}
        """;

    /// <summary>
    /// KEYS[16..18]: the batch's hash, items and results. ARGV[5]: batch id. A consistent snapshot:
    /// {created, sealed, in flight, dead-lettered, total, done}.
    /// </summary>
    public const string Progress = Prelude + """
        local h = redis.call('HMGET', KEYS[16], 'created', 'sealed')
        return {h[1] or '', h[2] or '0', redis.call('HGET', batch_inflight, ARGV[5]) or '0',
          redis.call('HGET', batch_dead, ARGV[5]) or '0', redis.call('HLEN', KEYS[17]), redis.call('HLEN', KEYS[18])}
        """;

    /// <summary>
    /// KEYS[16..17]: the batch's result order and results. ARGV[5..6]: the ordinal to start after, the page size.
    /// Returns result, ordinal, result, ordinal, ... in ordinal order.
    /// </summary>
    public const string Results = Prelude + """
        local page = redis.call('ZRANGEBYSCORE', KEYS[16], '(' .. ARGV[5], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[6]))
        if #page == 0 then return {} end
        local ids = {}
        for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
        local docs = redis.call('HMGET', KEYS[17], unpack(ids))
        local out = {}
        for i = 1, #ids do
          out[#out + 1] = docs[i] or ''
          out[#out + 1] = page[2 * i]
        end
        return out
        """;

    /// <summary>ARGV[5..]: payloads. Returns the batch <c>batch_of</c> reads from each: the tests hold it to <see cref="Envelope.BatchOf"/>.</summary>
    public const string BatchOf = Prelude + """
        local out = {}
        for i = 5, #ARGV do out[#out + 1] = batch_of(ARGV[i]) end
        return out
        """;
}
