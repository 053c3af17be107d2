-- Lease: takes up to max items for a silo: due retries first, then the next ready items (highest class first,
-- batches taking turns within a class).
-- ARGV[7]    max: the most items to take
-- ARGV[8]    lease duration (ms)
-- ARGV[9]    owner: the silo
-- ARGV[10]   how long the silo's word that it serves its models holds (ms); 0 or absent: it serves every model
-- ARGV[11..] the model keys it serves (ModelNames.Key)
-- Returns {more, token, item, failed attempts, mark, token, item, ...}. more is 1 when the call ran out of steps
-- (items parked, removed or looked past) after moving some, with items perhaps still to take: the caller asks again
-- at once. A call that spent its steps only looking past items other silos serve says no more: they stay theirs.
-- A silo's served models are noted for the others (served:M), and what waits parked for them comes back, a page a
-- call. Due retries of a model no live silo serves are parked too, and those another silo serves are looked past,
-- so neither blocks the retries behind them. Items of a cancelled or expired batch met on the way are removed.
local max, lease_ms, owner, hold_ms = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10] or '0')
local deadline = now_ms() + lease_ms
local out = {0}
local taken = 0
-- About 5 Redis calls a step: a few milliseconds at most (the million benchmark measures it). What each leased item
-- shares with the others (its token's number, the lease's hashes, the classes' virtual times) is written once, at
-- the end (flush_leases).
steps = 128

local route = nil
if hold_ms > 0 then
  route = {served = {}}
  for i = 11, #ARGV do
    route.served[ARGV[i]] = true
    redis.call('HSET', K.sched, 'served:' .. ARGV[i], now_ms() + hold_ms)
    if steps > 0 then
      local back = unpark(ARGV[i], math.min(64, steps))
      steps, moved = steps - back, moved + back
    end
  end
end

-- Retries: a window a little wider than max, so retries left to other silos can't hide this silo's behind them.
for _, token in ipairs(redis.call('ZRANGEBYSCORE', K.retries, '-inf', now_ms(), 'LIMIT', 0, max + 32)) do
  if taken >= max or steps <= 0 then break end
  local v = redis.call('HGET', K.inflight, token)
  local it = v and load(item_of(token, v))
  local info = it and (it.raw and {model = ''} or batch_info(it.b))
  if not it then
    -- A retry without its item is a broken invariant; dropped here so it cannot stall every lease.
    redis.call('ZREM', K.retries, token)
  elseif info.stopped then
    steps, moved = steps - 1, moved + 1
    end_wait(it, token)
    remove(it)
  elseif serves(route, info) then
    end_wait(it, token)
    lease_item(it)
    taken = taken + 1
  elseif served_elsewhere(info.model) then
    steps = steps - 1
  else
    steps, moved = steps - 1, moved + 1
    end_wait(it, token)
    park(it, vtime(info.class), info.model)
  end
end

while taken < max and steps > 0 do
  local it = pop_ready(route, max - taken)
  if not it then break end
  load_leasing(it)
  if it.raw and (it.state == 'l' or it.state == 'w') then
    -- The same payload is in flight already: one item delivered twice. The copy is counted, and its answer would be the same.
    steps, moved = steps - 1, moved + 1
    count('default', 'duplicates', 1)
    stat('duplicates', 1)
  elseif not it.raw and batch_info(it.b).stopped then
    steps, moved = steps - 1, moved + 1
    remove(it)
  else
    lease_item(it)
    taken = taken + 1
  end
end

flush_leases(owner, deadline, out)
if steps <= 0 and moved > 0 then out[1] = 1 end
return out
