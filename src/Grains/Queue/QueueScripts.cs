namespace OrleansLlm.Queue;

/// <summary>
/// Every Lua script of the queue and the batch store, in one place. Each state change of an item is one script, so
/// it happens entirely or not at all, and no item ever lives only in a process's memory.
/// </summary>
/// <remarks>
/// <para>
/// Every script gets the same first keys (<see cref="QueueKeys.Common"/>) and the same first arguments
/// (<see cref="QueuePolicy.Arguments"/>), both named in <see cref="Prelude"/>; then the keys of one batch it also
/// touches (<c>KEYS[22]</c> onwards) and its own arguments (<c>ARGV[5]</c> onwards). Every key a script touches is
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
              batch_inflight, batch_dead, recovered, duplicates, envelopes, failed_on,
              ready_high, ready_normal, ready_low, sched, batch_removed, parked =
              KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9],
              KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14], KEYS[15],
              KEYS[16], KEYS[17], KEYS[18], KEYS[19], KEYS[20], KEYS[21]
        -- [sched] The ready set of each priority class, highest first: the order workers lease in.
        local classes = {high = ready_high, normal = ready_normal, low = ready_low}
        local class_order = {'high', 'normal', 'low'}
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

        -- [sched] A batch's priority class (normal when it has none, e.g. created before priorities existed).
        local function class_of(b)
          local c = redis.call('HGET', sched, 'class:' .. b)
          if c and classes[c] then return c end
          return 'normal'
        end

        -- [sched] A class's virtual time: the tag of the last item leased from it. It never goes back.
        local function vtime(c) return tonumber(redis.call('HGET', sched, 'vt:' .. c) or '0') end

        -- [sched] Why a batch's queued items are removed ('cancelled' or 'expired'), or nil.
        local function stopped(b) return redis.call('HGET', sched, 'stop:' .. b) end

        -- Forgets an item that is settled for good: its attempts, the silos it failed on, its envelope's mark.
        local function forget(v)
          local sha = redis.sha1hex(v)
          redis.call('HDEL', attempts, sha)
          redis.call('HDEL', failed_on, sha)
          redis.call('SREM', envelopes, sha)
        end

        -- [sched] Removes for good an item of a stopped batch that was waiting, counting it for the batch.
        local function remove_item(v, b)
          redis.call('HINCRBY', batch_removed, b, 1)
          forget(v)
        end

        -- [sched] Puts an item back at the head of where it waits: a batch's item ahead of its class's ready set, a
        -- raw (or forged) one at the head of the ready list. An item of a stopped batch is removed instead.
        local function push_head(v)
          local b = counted_batch(v)
          if b == 'default' then
            redis.call('LPUSH', ready, v)
            return
          end
          if stopped(b) then
            remove_item(v, b)
            return
          end
          local c = class_of(b)
          local s = vtime(c)
          local head = redis.call('ZRANGE', classes[c], 0, 0, 'WITHSCORES')
          if head[2] then s = math.min(s, tonumber(head[2])) end
          redis.call('ZADD', classes[c], s - 1, v)
        end

        -- [routing] A batch's model, as ModelNames.Key writes it; '' for the silo's own Ollama:Model (every silo serves it).
        local function model_of(b) return redis.call('HGET', sched, 'model:' .. b) or '' end

        -- [routing] Puts a ready item whose model no live silo serves aside in the parked set, keeping its tag; the
        -- next lease by a silo that serves the model puts it back (unpark). Its batch says why it waits.
        local function park(v, tag, b, m)
          redis.call('ZREM', classes[class_of(b)], v)
          redis.call('ZADD', parked, tag, v)
          redis.call('HINCRBY', sched, 'parked-n:' .. m, 1)
          redis.call('HSET', sched, 'parked:' .. b, m)
        end

        -- [routing] Puts back every parked item of model m, in its class at its tag (an item of a stopped batch is removed).
        local function unpark(m)
          local all = redis.call('ZRANGE', parked, 0, -1, 'WITHSCORES')
          for i = 1, #all, 2 do
            local v, b = all[i], batch_of(all[i])
            if model_of(b) == m then
              redis.call('ZREM', parked, v)
              redis.call('HDEL', sched, 'parked:' .. b)
              if stopped(b) then remove_item(v, b) else redis.call('ZADD', classes[class_of(b)], all[i + 1], v) end
            end
          end
          redis.call('HDEL', sched, 'parked-n:' .. m)
        end

        -- [sched] Takes the next ready item this silo can serve (route: nil serves every model; else route.served is
        -- a set of model keys and route.now the time): from the highest class that has one; within a class, the
        -- lowest start tag, so batches take turns. In the normal class the raw ready list takes its turn as one more
        -- batch, its items tagged as they are taken. Items of a model no live silo serves are parked on the way;
        -- those another silo serves are left to it (at most 256 of them looked past). Nil when nothing is ready.
        local function first_servable(c, route)
          local head = redis.call('ZRANGE', classes[c], 0, 0, 'WITHSCORES')
          if not head[1] then return nil end
          -- The head is what almost every lease takes: only past an item this silo can't serve, look further.
          if not route or route.served[model_of(batch_of(head[1]))] or model_of(batch_of(head[1])) == '' then
            return head[1], tonumber(head[2])
          end
          local models, start = {}, 0
          while start < 256 do
            local head = redis.call('ZRANGE', classes[c], start, start + 63, 'WITHSCORES')
            if #head == 0 then return nil end
            local skipped = 0
            for i = 1, #head, 2 do
              local v, tag = head[i], tonumber(head[i + 1])
              local b = batch_of(v)
              if models[b] == nil then models[b] = model_of(b) end
              local m = models[b]
              if m == '' or route.served[m] then return v, tag end
              if tonumber(redis.call('HGET', sched, 'served:' .. m) or '0') > route.now then
                skipped = skipped + 1
              else
                park(v, tag, b, m)
              end
            end
            -- Parked items left the set, so only the ones left to other silos still stand before the next window.
            start = start + skipped
          end
          return nil
        end

        local function pop_ready(route)
          for _, c in ipairs(class_order) do
            local v, tag = first_servable(c, route)
            if c == 'normal' and redis.call('LLEN', ready) > 0 then
              local raw = math.max(vtime(c), tonumber(redis.call('HGET', sched, 'raw') or '0'))
              if not tag or raw < tag then
                redis.call('HSET', sched, 'raw', raw + 1, 'vt:normal', raw)
                return redis.call('LPOP', ready)
              end
            end
            if v then
              redis.call('ZREM', classes[c], v)
              if tag > vtime(c) then redis.call('HSET', sched, 'vt:' .. c, tag) end
              return v
            end
          end
          return nil
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
          push_head(v)
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
    /// ARGV[5..7]: max, lease duration (ms), owner; then, to lease only items of models this silo serves, ARGV[8..]:
    /// how long the silo's word holds (ms; 0 or absent serves every model) and the model keys it serves
    /// (<c>ModelNames.Key</c>). Returns id, item, failed attempts, envelope mark for each lease:
    /// the mark is '1' for an envelope the batch store enqueued, '0' for one it did not (forged), '' for a raw item.
    /// Failed items whose backoff has passed come first (they keep their lease id), then the next ready items
    /// (<c>pop_ready</c>: highest class first, batches taking turns within a class). Items of a cancelled or expired
    /// batch met on the way are removed, not leased.
    /// </summary>
    /// <remarks>
    /// A new lease id carries the Redis clock beside the sequence: if Redis rolls back to an older AOF and the
    /// sequence with it, the ids issued since still never come again.
    /// </remarks>
    public const string Lease = Prelude + """
        local now = now_ms()
        local max, deadline, owner = tonumber(ARGV[5]), now + tonumber(ARGV[6]), ARGV[7]
        local route = nil
        if tonumber(ARGV[8] or '0') > 0 then
          -- This silo serves these models until now + ARGV[8]: noted for the others, and what it parked comes back.
          route = {served = {}, now = now}
          for i = 9, #ARGV do
            route.served[ARGV[i]] = true
            redis.call('HSET', sched, 'served:' .. ARGV[i], now + tonumber(ARGV[8]))
            if tonumber(redis.call('HGET', sched, 'parked-n:' .. ARGV[i]) or '0') > 0 then unpark(ARGV[i]) end
          end
        end
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
          local v = redis.call('HGET', inflight, id)
          local m = v and route and model_of(counted_batch(v)) or ''
          -- [routing] A retry of a model this silo does not serve waits for a silo that does.
          if m ~= '' and not route.served[m] then v = nil else
            redis.call('ZREM', retries, id)
            redis.call('HDEL', lease_errors, id)
          end
          if v then
            local b = counted_batch(v)
            if b ~= 'default' and stopped(b) then
              drop_lease(id)
              remove_item(v, b)
            else
              take(id, v)
            end
          end
        end
        while #out < max * 4 do
          local v = pop_ready(route)
          if not v then break end
          local b = counted_batch(v)
          if b ~= 'default' and stopped(b) then
            remove_item(v, b)
          else
            local id = redis.call('INCR', lease_seq) .. '-' .. now
            redis.call('HSET', inflight, id, v)
            redis.call('HINCRBY', batch_inflight, b, 1)
            take(id, v)
          end
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
    /// KEYS[22..25]: the batch's results, result order and items, the usage hash. ARGV[5..12]: lease, owner, item id,
    /// result, item, prompt tokens, completion tokens, Ollama ms. Writes the result, adds the answer's usage and drops
    /// the lease in one step; the first result for an id wins. Returns 1, or 0 for a duplicate.
    /// </summary>
    /// <remarks>
    /// A lease that expired while its answer was on the way has put the item back in the ready list: the work is
    /// done, so the item is taken out again (from near the head of the ready list or its class's ready set, where it
    /// went back).
    /// </remarks>
    public const string Complete = Prelude + """
        local results, order, items = KEYS[22], KEYS[23], KEYS[24]
        local lease, owner, item_id, result, item = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
        add_usage(KEYS[25], item, ARGV[10], ARGV[11], ARGV[12])
        -- Settled for good once no lease holds it and it waits nowhere. An item another silo leased again after this
        -- lease went back is still that lease's: forgetting it now would drop its envelope's mark, and that lease's
        -- end would then count against the default batch, leaving this batch one in flight for ever.
        local settled = true
        if redis.call('HGET', owners, lease) == owner then
          drop_lease(lease)
        elseif redis.call('LREM', ready, 1, item) == 0 then
          local removed = redis.call('ZREM', parked, item)
          for _, set in pairs(classes) do removed = removed + redis.call('ZREM', set, item) end
          settled = removed > 0
        end
        if settled then forget(item) end
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
        push_head(v)
        return 'released'
        """;

    /// <summary>
    /// ARGV[5..7]: lease, owner, reason; then, for an answer that is itself the problem, ARGV[8..12]: error, answer,
    /// prompt tokens, completion tokens, Ollama ms (KEYS[22]: the usage hash). Moves a leased item straight to the
    /// dead-letter list. Returns 1, or 0 if not the owner's.
    /// </summary>
    public const string DeadLetter = Prelude + """
        if redis.call('HGET', owners, ARGV[5]) ~= ARGV[6] then return 0 end
        local v = drop_lease(ARGV[5])
        local a = tonumber(redis.call('HGET', attempts, redis.sha1hex(v)) or '0') + 1
        if ARGV[9] then add_usage(KEYS[22], v, ARGV[10], ARGV[11], ARGV[12]) end
        dead_letter(v, ARGV[7], ARGV[8], a, ARGV[6], now_ms(), ARGV[9])
        return 1
        """;

    /// <summary>
    /// ARGV[5..]: owner, lease ids in lease order. Puts the owner's unfinished items back at the head of where they
    /// wait (<c>push_head</c>), in their order, without counting an attempt. Returns how many.
    /// </summary>
    public const string Release = Prelude + """
        local n = 0
        for i = #ARGV, 6, -1 do
          if redis.call('HGET', owners, ARGV[i]) == ARGV[5] then
            local v = drop_lease(ARGV[i])
            if v then
              push_head(v)
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
    /// KEYS[22]: the batch's items. ARGV[5..]: batch id, then item id, envelope, item id, envelope, ... Adds the
    /// items whose id the batch does not have yet to its class's ready set, numbering them in submission order, and
    /// marks their envelopes as genuine. Returns how many were new.
    /// </summary>
    /// <remarks>
    /// Start-time fair queuing: the batch's items are tagged on from the later of its class's virtual time and the
    /// batch's own next tag, one apart. A batch submitted behind a long one starts near the long one's head, so the
    /// two take turns; a batch that was idle gets no credit for it.
    /// </remarks>
    public const string Enqueue = Prelude + """
        local items, b = KEYS[22], ARGV[5]
        local c = class_of(b)
        local tag = math.max(vtime(c), tonumber(redis.call('HGET', sched, 'tag:' .. b) or '0'))
        local added = 0
        for i = 6, #ARGV, 2 do
          if redis.call('HSETNX', items, ARGV[i], redis.call('HLEN', items) + 1) == 1 then
            redis.call('SADD', envelopes, redis.sha1hex(ARGV[i + 1]))
            redis.call('ZADD', classes[c], tag, ARGV[i + 1])
            tag = tag + 1
            added = added + 1
          end
        end
        redis.call('HSET', sched, 'tag:' .. b, tag)
        return added
        """;

    /// <summary>
    /// KEYS[22..24]: the batch's hash, the batch index, the batch deadlines. ARGV[5..]: batch id, created (ms), then
    /// spec field, value, ... Creates the batch unless it exists, with its priority class (the spec's <c>priority</c>)
    /// in the scheduler's state, and its deadline (created + the spec's <c>window</c>, ms) when it has one. Returns the stored fields of an existing batch, or an empty list.
    /// </summary>
    public const string CreateBatch = Prelude + """
        if redis.call('EXISTS', KEYS[22]) == 1 then return redis.call('HGETALL', KEYS[22]) end
        redis.call('HSET', KEYS[22], 'created', ARGV[6], unpack(ARGV, 7))
        redis.call('ZADD', KEYS[23], ARGV[6], ARGV[5])
        local route = redis.call('HGET', KEYS[22], 'route')
        if route and route ~= '' then redis.call('HSET', sched, 'model:' .. ARGV[5], route) end
        local p = redis.call('HGET', KEYS[22], 'priority')
        if p and classes[p] then redis.call('HSET', sched, 'class:' .. ARGV[5], p) end
        local window = tonumber(redis.call('HGET', KEYS[22], 'window') or '')
        if window and window > 0 then
          redis.call('HSET', KEYS[22], 'deadline', tonumber(ARGV[6]) + window)
          redis.call('ZADD', KEYS[24], tonumber(ARGV[6]) + window, ARGV[5])
        end
        return {}
        """;

    /// <summary>
    /// KEYS[22..24]: the batch's hash, items and results. ARGV[5]: batch id. A consistent snapshot:
    /// {created, sealed, in flight, dead-lettered, total, done, priority, stopped (cancelled, expired or ''), removed, deadline (ms or ''), the model its parked items wait for (or '')}.
    /// </summary>
    public const string Progress = Prelude + """
        local h = redis.call('HMGET', KEYS[22], 'created', 'sealed', 'priority', 'deadline')
        return {h[1] or '', h[2] or '0', redis.call('HGET', batch_inflight, ARGV[5]) or '0',
          redis.call('HGET', batch_dead, ARGV[5]) or '0', redis.call('HLEN', KEYS[23]), redis.call('HLEN', KEYS[24]),
          h[3] or '', stopped(ARGV[5]) or '', redis.call('HGET', batch_removed, ARGV[5]) or '0', h[4] or '',
          redis.call('HGET', sched, 'parked:' .. ARGV[5]) or ''}
        """;

    /// <summary>
    /// KEYS[22..23]: the batch's result order and results. ARGV[5..6]: the ordinal to start after, the page size.
    /// Returns result, ordinal, result, ordinal, ... in ordinal order.
    /// </summary>
    public const string Results = Prelude + """
        local page = redis.call('ZRANGEBYSCORE', KEYS[22], '(' .. ARGV[5], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[6]))
        if #page == 0 then return {} end
        local ids = {}
        for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
        local docs = redis.call('HMGET', KEYS[23], unpack(ids))
        local out = {}
        for i = 1, #ids do
          out[#out + 1] = docs[i] or ''
          out[#out + 1] = page[2 * i]
        end
        return out
        """;

    /// <summary>
    /// KEYS[22]: the batch's hash. ARGV[5..7]: batch id, why (<c>cancelled</c> or <c>expired</c>), when (ms). From now on
    /// the batch's queued items are removed rather than leased, and items handed back are removed rather than queued;
    /// items in flight finish. The first reason stays. Returns the reason in effect.
    /// </summary>
    public const string StopBatch = Prelude + """
        local b = ARGV[5]
        redis.call('HSETNX', sched, 'stop:' .. b, ARGV[6])
        local why = redis.call('HGET', sched, 'stop:' .. b)
        if redis.call('HSETNX', KEYS[22], 'stopped', why) == 1 then redis.call('HSET', KEYS[22], 'stopped_at', ARGV[7]) end
        return why
        """;

    /// <summary>
    /// ARGV[5..]: batch id, then queued items (envelopes) of the stopped batch, as ZSCAN found them in its class's ready
    /// set or the parked set. Removes those still there, counting them for the batch. Returns how many.
    /// </summary>
    public const string RemoveQueued = Prelude + """
        local b = ARGV[5]
        if not stopped(b) then return 0 end
        local set = classes[class_of(b)]
        local n = 0
        for i = 6, #ARGV do
          local v = ARGV[i]
          if counted_batch(v) == b and (redis.call('ZREM', set, v) + redis.call('ZREM', parked, v)) > 0 then
            remove_item(v, b)
            n = n + 1
          end
        end
        return n
        """;

    /// <summary>
    /// ARGV[5..8]: batch id, first position, count, when (ms). Puts the batch's dead letters in that part of the
    /// dead-letter list back in its class's ready set with fresh attempts, tagged like new items, and marks each entry
    /// <c>retried</c> (so positions stay put while paging). An entry whose item was cut short can't be retried and
    /// stays. Returns {retried, too large to retry, the list's length}.
    /// </summary>
    public const string RetryDead = Prelude + """
        local b, first, count = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
        local c = class_of(b)
        local tag = math.max(vtime(c), tonumber(redis.call('HGET', sched, 'tag:' .. b) or '0'))
        local retried, kept = 0, 0
        local entries = redis.call('LRANGE', dead, first, first + count - 1)
        for i, raw in ipairs(entries) do
          local ok, e = pcall(cjson.decode, raw)
          if ok and type(e) == 'table' and e.batch == b and not e.retried then
            if e.truncated then
              kept = kept + 1
            else
              local sha = redis.sha1hex(e.item)
              redis.call('HDEL', attempts, sha)
              redis.call('HDEL', failed_on, sha)
              redis.call('SADD', envelopes, sha)
              redis.call('ZADD', classes[c], tag, e.item)
              tag = tag + 1
              redis.call('HINCRBY', batch_dead, b, -1)
              e.retried = tonumber(ARGV[8])
              redis.call('LSET', dead, first + i - 1, cjson.encode(e))
              retried = retried + 1
            end
          end
        end
        redis.call('HSET', sched, 'tag:' .. b, tag)
        return {retried, kept, redis.call('LLEN', dead)}
        """;

    /// <summary>ARGV[5..]: payloads. Returns the batch <c>batch_of</c> reads from each: the tests hold it to <see cref="Envelope.BatchOf"/>.</summary>
    public const string BatchOf = Prelude + """
        local out = {}
        for i = 5, #ARGV do out[#out + 1] = batch_of(ARGV[i]) end
        return out
        """;
}
