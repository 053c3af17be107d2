-- settling.lua: what becomes of a leased item: an answer, a failure, or a lease that ended without either.

local function failed_silos(it)
  local n = 0
  for _ in string.gmatch(it.failed_on, '%S+') do n = n + 1 end
  return n
end

-- Notes that the item failed on this silo's backend. Returns how many silos it has failed on, this one included.
local function note_failure(it, silo)
  for s in string.gmatch(it.failed_on, '%S+') do
    if s == silo then return failed_silos(it) end
  end
  it.failed_on = (it.failed_on == '' and silo) or (it.failed_on .. ' ' .. silo)
  return failed_silos(it)
end

-- Spends one attempt of a leased item that failed: dead-lettered at max_attempts, removed if its batch stopped,
-- else it waits out retry_ms in the retries (still in flight, so KEDA counts it) under the same token, and the
-- next lease after that takes it under a new one. Returns 'dead', 'removed' or 'retry'.
local function spend_attempt(it, token, owner, err, retry_ms)
  it.attempts = it.attempts + 1
  if it.attempts >= max_attempts then
    end_lease(it, token)
    dead_letter(it, 'failed ' .. it.attempts .. ' attempts', err, it.attempts, owner)
    return 'dead'
  end
  if not it.raw and batch_info(it.b).stopped then
    end_lease(it, token)
    remove(it)
    return 'removed'
  end
  redis.call('HDEL', K.owners, token)
  redis.call('ZREM', K.deadlines, token)
  redis.call('HSET', K.lease_errors, token, err)
  redis.call('ZADD', K.retries, now_ms() + retry_ms, token)
  save(it, 'w', token)
  return 'retry'
end

-- A lease that ended without an answer (it expired, its owner was declared dead) costs the item an attempt: back to
-- the head of where it waits, or to its dead letters once it has failed max_attempts times. True when dead-lettered.
local function requeue_or_bury(it, token, err, owner)
  end_lease(it, token)
  it.attempts = it.attempts + 1
  if it.attempts >= max_attempts then
    dead_letter(it, 'failed ' .. it.attempts .. ' attempts', err, it.attempts, owner)
    return true
  end
  push_head(it)
  return false
end

-- Adds what the backend did for an answer to its batch's usage. Every answer counts, whatever became of it: the
-- tokens were spent.
local function add_usage(b, prompt, completion, ms)
  if prompt and prompt ~= '0' then count(b, 'prompt_tokens', prompt) end
  if completion and completion ~= '0' then count(b, 'completion_tokens', completion) end
  if ms and ms ~= '0' then count(b, 'backend_ms', ms) end
end

-- Raw items' results roll over by day (Unix ms / 86,400,000): the day's bucket and its order.
local day_ms = 86400000
local function raw_results(day)
  return Q .. ':results:default@' .. day, Q .. ':result-order:default@' .. day
end

-- For an answer whose lease went back: takes its item out of wherever it is now, unless it ended. A lease that
-- holds it now is fenced off (its settle will find it stale). True when the item was taken.
local function take_back(it)
  local s = it.state
  if s == 'l' then
    end_lease(it, it.token)
    stat('fenced', 1)
    return true
  elseif s == 'w' then
    end_wait(it, it.token)
    return true
  elseif s == 'p' then
    if redis.call('ZREM', parked_key(batch_info(it.b).model), it.v) == 0 then return false end
    count(it.b, 'parked', -1)
    return true
  elseif s == 'q' then
    if not it.raw then return redis.call('ZREM', K.class[batch_info(it.b).class], it.v) == 1 end
    -- A handed-back raw item went to the head of the list: looked for only there, so this stays bounded.
    if not redis.call('LPOS', K.ready, it.v, 'MAXLEN', 1000) then return false end
    redis.call('LREM', K.ready, 1, it.v)
    return true
  end
  return false
end

-- An answer that came too late: its item ended elsewhere first. Nothing is stored; its usage and the fact count, for
-- its batch only while the batch is still there: one forgotten meanwhile, or deleted and created again under its
-- id (whose items all have higher numbers), is not touched.
local function late(it, token, prompt, completion, ms)
  local first = not it.raw and redis.call('HGET', bkey('batch', it.b), 'first')
  if it.raw or (first and tonumber(first) <= it.n) then
    add_usage(it.b, prompt, completion, ms)
    count(it.b, 'late', 1)
  end
  stat('late', 1)
  return remember(token, 'late')
end
