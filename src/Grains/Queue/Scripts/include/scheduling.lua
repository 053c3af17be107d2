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

local vt_cache, vt_dirty = {}, {}

-- A class's virtual time: the tag of the last item leased from it. It never goes back.
local function vtime(c)
  if not vt_cache[c] then vt_cache[c] = tonumber(redis.call('HGET', K.sched, 'vt:' .. c) or '0') end
  return vt_cache[c]
end

-- Kept in the call, written by flush_leases: a lease moves it once an item, Redis needs it once a call.
local function set_vtime(c, tag)
  vt_cache[c] = tag
  vt_dirty[c] = true
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

-- The call's view of each class's ready set: a window read once and taken from in order, read again only when used
-- up. Within a lease call the set only loses items (unparking comes first), so the window stays true: the items
-- taken (removed by flush_leases) and those looked past (still there) are all ahead of the rest, and the next window
-- starts after them; parked items leave the set at once.
local windows = {}

-- The first window of a class holds only what the call still wants (every envelope read is a string Lua builds,
-- ~1 us for a typical item); one read again (items were looked past, removed or raw ones went first) holds 16.
local function window(c, want)
  local w = windows[c]
  if not w then
    w = {list = {}, i = 1, past = 0, taken = {}}
    windows[c] = w
  end
  if w.i > #w.list and not w.last then
    local from, size = w.past + #w.taken, w.read and 16 or want
    w.list, w.i, w.read = redis.call('ZRANGE', K.class[c], from, from + size - 1, 'WITHSCORES'), 1, true
    w.last = #w.list < 2 * size
  end
  return w
end

local served_cache = {}

-- Whether a live silo said, on its last lease, that it serves model m.
local function served_elsewhere(m)
  if served_cache[m] == nil then served_cache[m] = tonumber(redis.call('HGET', K.sched, 'served:' .. m) or '0') > now_ms() end
  return served_cache[m]
end

-- Whether a silo with this route can serve an item of a batch (route nil: every model; '' is each silo's own model).
local function serves(route, info) return not route or info.model == '' or route.served[info.model] end

-- The next ready item of class c this silo can take, with its tag, left in its window until pop_ready takes it.
-- Items of a stopped batch come out too, for the caller to remove. On the way, items of a model no live silo serves
-- are parked and those another silo serves are looked past, a step each.
local function first_servable(c, route, want)
  while steps > 0 do
    local w = window(c, want)
    if w.i > #w.list then return nil end
    local it, tag = batch_item(w.list[w.i]), tonumber(w.list[w.i + 1])
    local info = batch_info(it.b)
    if info.stopped or serves(route, info) then return it, tag end
    steps = steps - 1
    w.i = w.i + 2
    if served_elsewhere(info.model) then
      w.past = w.past + 1
    else
      redis.call('ZREM', K.class[c], it.v)
      park(load(it), tag, info.model)
      moved = moved + 1
    end
  end
  return nil
end

-- The raw list's length and next tag, read once a call.
local raw_left, raw_tag

-- Takes the next ready item: from the highest class that has one this silo can take; in the normal class the raw
-- list takes its turn by its own tag. want: how many items the call still takes. Returns the item (a raw one not yet
-- loaded, a batch's one read from its envelope), or nil.
local function pop_ready(route, want)
  for _, c in ipairs(class_order) do
    local it, tag = first_servable(c, route, want)
    if c == 'normal' then
      raw_left = raw_left or redis.call('LLEN', K.ready)
      if raw_left > 0 then
        raw_tag = raw_tag or tonumber(redis.call('HGET', K.sched, 'raw') or '0')
        local raw = math.max(vtime(c), raw_tag)
        if not tag or raw < tag then
          raw_tag, raw_left = raw + 1, raw_left - 1
          set_vtime(c, raw)
          local v = redis.call('LPOP', K.ready)
          return v and raw_item(v)
        end
      end
    end
    if it then
      local w = windows[c]
      w.i = w.i + 2
      w.taken[#w.taken + 1] = it.v
      if tag > vtime(c) then set_vtime(c, tag) end
      return it
    end
    if steps <= 0 then return nil end
  end
  return nil
end

-- The items this call leases, in order; flush_leases gives them their tokens and writes them. Until then they are
-- found here by their record (leasing_record), so a raw payload popped twice in one call is seen in flight.
local leasing, leasing_record = {}, {}

local function lease_item(it)
  it.state = 'l'
  leasing[#leasing + 1] = it
  local mine = leasing_record[it.home]
  if not mine then
    mine = {}
    leasing_record[it.home] = mine
  end
  mine[it.field] = it
end

-- An item's record as this call left it: leased by it, or as Redis has it.
local function load_leasing(it)
  local mine = leasing_record[it.home] and leasing_record[it.home][it.field]
  if mine then
    it.state, it.attempts, it.token, it.failed_on = mine.state, mine.attempts, mine.token, mine.failed_on
    return it
  end
  return load(it)
end

-- Writes what a lease call did, once a call rather than once an item: every leased item under a fresh token (a token
-- is never given twice, also across a Redis restart from an older AOF: it carries the Redis clock beside the
-- sequence, so every settle can tell a stale lease from the live one), the classes' virtual times and the raw tag,
-- and the taken items out of their ready sets. Appends token, item, failed attempts and mark to out for each: '1'
-- for a batch's item, '' for a raw item, '0' for a raw item shaped like an envelope (forged: only the batch store
-- enqueues envelopes).
local function flush_leases(owner, deadline, out)
  for _, c in ipairs(class_order) do
    local w = windows[c]
    if w and #w.taken > 0 then redis.call('ZREM', K.class[c], unpack(w.taken)) end
  end
  local sched = {}
  for _, c in ipairs(class_order) do
    if vt_dirty[c] then
      sched[#sched + 1] = 'vt:' .. c
      sched[#sched + 1] = vt_cache[c]
    end
  end
  if raw_tag then
    sched[#sched + 1] = 'raw'
    sched[#sched + 1] = raw_tag
  end
  if #sched > 0 then redis.call('HSET', K.sched, unpack(sched)) end

  local k = #leasing
  if k == 0 then return end
  local last, now = redis.call('INCRBY', K.lease_seq, k), now_ms()
  -- What the tokens share, built once: a number made a string is one of the dearer steps of Lua.
  local raw_tail, batch_tail = '-' .. now .. 'r', '-' .. now .. 'b'
  local inflight, owners, deadlines, records, homes, per_batch, batches = {}, {}, {}, {}, {}, {}, {}
  for i, it in ipairs(leasing) do
    local token = (last - k + i) .. (it.raw and raw_tail or batch_tail)
    it.token = token
    inflight[#inflight + 1] = token
    inflight[#inflight + 1] = it.v
    owners[#owners + 1] = token
    owners[#owners + 1] = owner
    deadlines[#deadlines + 1] = deadline
    deadlines[#deadlines + 1] = token
    if not records[it.home] then
      records[it.home] = {}
      homes[#homes + 1] = it.home
    end
    local r = records[it.home]
    r[#r + 1] = it.field
    r[#r + 1] = (it.attempts == 0 and 'l|0|' or 'l|' .. it.attempts .. '|') .. token .. '|' .. it.failed_on
    if not per_batch[it.b] then
      per_batch[it.b] = 0
      batches[#batches + 1] = it.b
    end
    per_batch[it.b] = per_batch[it.b] + 1
    out[#out + 1] = token
    out[#out + 1] = it.v
    out[#out + 1] = it.attempts
    out[#out + 1] = it.raw and (is_enveloped(it.v) and '0' or '') or '1'
  end
  redis.call('HSET', K.inflight, unpack(inflight))
  redis.call('HSET', K.owners, unpack(owners))
  redis.call('ZADD', K.deadlines, unpack(deadlines))
  for _, home in ipairs(homes) do redis.call('HSET', home, unpack(records[home])) end
  for _, b in ipairs(batches) do count(b, 'inflight', per_batch[b]) end
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
