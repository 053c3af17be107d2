-- Sweep: hands back leases past their deadline (a frozen or killed owner); each costs its item an attempt.
-- ARGV[7]  limit: the most leases to hand back in this call (the caller calls again while it gets that many)
-- Returns {requeued, dead-lettered}.
local limit = tonumber(ARGV[7])
local requeued, buried = 0, 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', K.deadlines, '-inf', now_ms(), 'LIMIT', 0, limit)) do
  local owner = redis.call('HGET', K.owners, token) or '?'
  local v = redis.call('HGET', K.inflight, token)
  if v then
    local it = load(item_of(token, v))
    if requeue_or_bury(it, token, 'lease expired (owner ' .. owner .. ')', owner) then buried = buried + 1 else requeued = requeued + 1 end
  else
    -- A deadline without its item is a broken invariant; dropped here so it cannot come back on every sweep.
    redis.call('ZREM', K.deadlines, token)
    redis.call('HDEL', K.owners, token)
  end
end
stat('recovered', requeued + buried)
return {requeued, buried}
