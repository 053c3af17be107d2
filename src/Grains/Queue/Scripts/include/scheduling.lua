-- scheduling.lua: where a ready item waits, which one is leased next, and the lease itself.
--
-- Each priority class has a ready set (high, normal, low: leased in that order). Within a class, batches take turns by
-- start-time fair queuing: the class's virtual time is the tag of its last leased item, a batch's items are tagged
-- from the later of that and the batch's own next tag, and the lowest tag goes first. The raw list is one more batch
-- of the normal class, tagged as its items are taken. Items of a model no live silo serves wait in a parked set of
-- their model, keeping their tag, until a silo that serves it leases.

-- Steps a call may still take past what it hands out: items parked, removed or looked past. Every loop that could
-- grow with the queue spends them, and stops at none: what is left waits for the next call.
local steps = 0

-- Items a call moved on the way (parked, put back, removed, dropped): a call that ran out of steps only looking past
-- items other silos serve moved none, and asking again at once would find the same.
local moved = 0

local vt_cache = {}

-- A class's virtual time: the tag of the last item leased from it. It never goes back.
local function vtime(c)
  if not vt_cache[c] then vt_cache[c] = tonumber(redis.call('HGET', K.sched, 'vt:' .. c) or '0') end
  return vt_cache[c]
end

local function set_vtime(c, tag)
  vt_cache[c] = tag
  redis.call('HSET', K.sched, 'vt:' .. c, tag)
end

-- The record of an item back where it waits: none if it has no history to keep.
local function rest(it)
  if it.attempts == 0 and it.failed_on == '' then forget(it) else save(it, 'q') end
end

-- Puts a handed-back item at the head of where it waits: ahead of its class's ready set, or at the head of the raw
-- list. An item of a stopped batch is removed instead. Returns 'released' or 'removed'.
local function push_head(it)
  if it.raw then
    redis.call('LPUSH', K.ready, it.v)
    rest(it)
    return 'released'
  end
  local info = batch_info(it.b)
  if info.stopped then
    remove(it)
    return 'removed'
  end
  local set = K.class[info.class]
  local s = vtime(info.class)
  local head = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if head[2] then s = math.min(s, tonumber(head[2])) end
  redis.call('ZADD', set, s - 1, it.v)
  rest(it)
  return 'released'
end

-- Sets a batch's item aside under its model, keeping its tag; it has already left its ready set or the retries.
local function park(it, tag, m)
  redis.call('ZADD', parked_key(m), tag, it.v)
  save(it, 'p')
  count(it.b, 'parked', 1)
end

-- Puts up to limit parked items of model m back in their class at their tag (an item of a stopped batch is
-- removed). Returns how many it moved.
local function unpark(m, limit)
  local page = redis.call('ZRANGE', parked_key(m), 0, limit - 1, 'WITHSCORES')
  for i = 1, #page, 2 do
    local it = load(batch_item(page[i]))
    redis.call('ZREM', parked_key(m), it.v)
    count(it.b, 'parked', -1)
    local info = batch_info(it.b)
    if info.stopped then
      remove(it)
    else
      redis.call('ZADD', K.class[info.class], page[i + 1], it.v)
      rest(it)
    end
  end
  return #page / 2
end

-- Whether a live silo said, on its last lease, that it serves model m.
local function served_elsewhere(m) return tonumber(redis.call('HGET', K.sched, 'served:' .. m) or '0') > now_ms() end

-- Whether a silo with this route can serve an item of a batch (route nil: every model; '' is each silo's own model).
local function serves(route, info) return not route or info.model == '' or route.served[info.model] end

-- The next ready item of class c this silo can take, with its tag. Items of a stopped batch come out too, for the
-- caller to remove. On the way, items of a model no live silo serves are parked and those another silo serves are
-- looked past, a step each.
local function first_servable(c, route)
  local start = 0
  while steps > 0 do
    local window = redis.call('ZRANGE', K.class[c], start, start + 15, 'WITHSCORES')
    if #window == 0 then return nil end
    for i = 1, #window, 2 do
      local v, tag = window[i], tonumber(window[i + 1])
      local info = batch_info((envelope_of(v)))
      if info.stopped or serves(route, info) then return v, tag end
      steps = steps - 1
      if served_elsewhere(info.model) then
        start = start + 1
      else
        -- Parked items leave the set, so only the ones looked past still stand before the next window.
        redis.call('ZREM', K.class[c], v)
        park(load(batch_item(v)), tag, info.model)
        moved = moved + 1
      end
      if steps <= 0 then return nil end
    end
  end
  return nil
end

-- Takes the next ready item: from the highest class that has one this silo can take; in the normal class the raw
-- list takes its turn by its own tag. Returns the item and whether it is raw, or nil.
local function pop_ready(route)
  for _, c in ipairs(class_order) do
    local v, tag = first_servable(c, route)
    if c == 'normal' and redis.call('LLEN', K.ready) > 0 then
      local raw = math.max(vtime(c), tonumber(redis.call('HGET', K.sched, 'raw') or '0'))
      if not tag or raw < tag then
        redis.call('HSET', K.sched, 'raw', raw + 1)
        set_vtime(c, raw)
        return redis.call('LPOP', K.ready), true
      end
    end
    if v then
      redis.call('ZREM', K.class[c], v)
      if tag > vtime(c) then set_vtime(c, tag) end
      return v, false
    end
    if steps <= 0 then return nil end
  end
  return nil
end

-- Leases an item to owner under a fresh token: a token is never given twice, also across a Redis restart from an
-- older AOF (it carries the Redis clock beside the sequence), so every settle can tell a stale lease from the live one.
-- Appends token, item, failed attempts and mark to out: '1' for a batch's item, '' for a raw item, '0' for a raw
-- item shaped like an envelope (forged: only the batch store enqueues envelopes).
local function lease_item(it, owner, deadline, out)
  local token = redis.call('INCR', K.lease_seq) .. '-' .. now_ms() .. (it.raw and 'r' or 'b')
  redis.call('HSET', K.inflight, token, it.v)
  redis.call('HSET', K.owners, token, owner)
  redis.call('ZADD', K.deadlines, deadline, token)
  save(it, 'l', token)
  count(it.b, 'inflight', 1)
  out[#out + 1] = token
  out[#out + 1] = it.v
  out[#out + 1] = it.attempts
  out[#out + 1] = it.raw and (is_enveloped(it.v) and '0' or '') or '1'
end

-- A lease ends: its token goes from inflight, owners and deadlines.
local function end_lease(it, token)
  redis.call('HDEL', K.inflight, token)
  redis.call('HDEL', K.owners, token)
  redis.call('ZREM', K.deadlines, token)
  count(it.b, 'inflight', -1)
end

-- A wait for a retry ends: its entry goes from inflight, retries and lease errors.
local function end_wait(it, token)
  redis.call('HDEL', K.inflight, token)
  redis.call('ZREM', K.retries, token)
  redis.call('HDEL', K.lease_errors, token)
  count(it.b, 'inflight', -1)
end
