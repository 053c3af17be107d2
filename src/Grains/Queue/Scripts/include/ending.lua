-- ending.lua: how items and batches end. An item ends done (a result), dead (a dead letter) or removed (its batch
-- was cancelled or expired); a batch ends when it is sealed or stopped and none of its items is left open.

-- Unlinks a batch's keys and index entries, and takes its dead letters off the queue's count.
local function delete_batch(b)
  local dead = tonumber(redis.call('HGET', bkey('batch', b), 'dead') or redis.call('HGET', K.sched, 'dead:' .. b) or '0')
  if dead > 0 then stat('dead', -dead) end
  redis.call('UNLINK', bkey('batch', b), bkey('items', b), bkey('state', b), bkey('results', b), bkey('order', b), bkey('dead', b))
  redis.call('ZREM', K.batches, b)
  redis.call('ZREM', K.batch_deadlines, b)
  redis.call('ZREM', K.ended, b)
  redis.call('HDEL', K.sched, 'dead:' .. b)
end

-- Ends a batch once it is sealed or stopped and has no open item: notes when, and sets its keys to expire
-- result_ttl_ms later (Purge drops its index entries then). A batch someone asked to delete goes at once.
local function check_end(b)
  if b == 'default' then return end
  local h = redis.call('HMGET', bkey('batch', b), 'created', 'open', 'sealed', 'stopped', 'ended', 'delete', 'dead')
  if not h[1] or h[5] or tonumber(h[2] or '0') > 0 or not (h[3] == '1' or h[4]) then return end
  if h[6] then
    delete_batch(b)
    return
  end
  local now = now_ms()
  redis.call('HSET', bkey('batch', b), 'ended', now)
  if result_ttl_ms > 0 then
    local at = now + result_ttl_ms
    redis.call('HSET', bkey('batch', b), 'expires', at)
    for _, kind in ipairs(batch_kinds) do redis.call('PEXPIREAT', bkey(kind, b), at) end
    redis.call('ZADD', K.ended, at, b)
    -- Kept outside the batch's keys, so Purge can still take its dead letters off the count once they expired.
    if tonumber(h[7] or '0') > 0 then redis.call('HSET', K.sched, 'dead:' .. b, h[7]) end
  end
end

-- Undoes check_end for a batch that takes items again (RetryDead): its keys no longer expire.
local function revive(b)
  if not redis.call('HGET', bkey('batch', b), 'ended') then return end
  redis.call('HDEL', bkey('batch', b), 'ended', 'expires')
  for _, kind in ipairs(batch_kinds) do redis.call('PERSIST', bkey(kind, b)) end
  redis.call('ZREM', K.ended, b)
  redis.call('HDEL', K.sched, 'dead:' .. b)
end

-- An item ended: its record goes, and its batch ends with its last open item.
local function finish(it)
  forget(it)
  if not it.raw and count(it.b, 'open', -1) == 0 then check_end(it.b) end
end

-- An item of a stopped batch leaves the queue for good, counted as removed.
local function remove(it)
  count(it.b, 'removed', 1)
  finish(it)
end

-- Puts an item in its batch's dead-letter list with why, its attempts and the silos it failed on. Past
-- dead_max_bytes only the start of the item is kept, with its size and SHA-1. Raw items' list keeps the newest
-- raw_dead_max; a batch's list is bounded by the batch.
local function dead_letter(it, reason, err, tries, owner, answer)
  local entry = {reason = reason, error = err, attempts = tries, batch = it.b, owner = owner, at = now_ms(),
    item = it.v, item_sha1 = redis.sha1hex(it.v), item_bytes = #it.v}
  -- The model's answer, when it is why the item is here (it broke the batch's schema).
  if answer then entry.answer = string.sub(answer, 1, dead_max_bytes) end
  if it.failed_on ~= '' then
    local silos = {}
    for s in string.gmatch(it.failed_on, '%S+') do silos[#silos + 1] = s end
    entry.failed_on = silos
  end
  if #it.v > dead_max_bytes then
    entry.item = string.sub(it.v, 1, dead_max_bytes)
    entry.truncated = true
  end
  local length = redis.call('RPUSH', bkey('dead', it.b), cjson.encode(entry))
  stat('dead', 1)
  if it.raw and raw_dead_max > 0 and length > raw_dead_max then
    redis.call('LTRIM', bkey('dead', it.b), -raw_dead_max, -1)
    stat('dead', raw_dead_max - length)
  end
  count(it.b, 'dead', 1)
  finish(it)
end
