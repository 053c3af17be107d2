-- Recover: hands back the leases of silos known to be dead; each costs its item an attempt.
-- ARGV[7]    reason
-- ARGV[8..]  token, owner, token, owner, ...: leases the caller found held by dead silos (a page of HSCAN over
--            owners, so the call stays bounded); each is handed back only if that owner still holds it
-- Returns {requeued, dead-lettered}.
local reason = ARGV[7]
local requeued, buried = 0, 0
for i = 8, #ARGV - 1, 2 do
  local token, owner = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', K.owners, token) == owner then
    local it = load(item_of(token, redis.call('HGET', K.inflight, token)))
    if requeue_or_bury(it, token, reason .. ' (' .. owner .. ')', owner) then buried = buried + 1 else requeued = requeued + 1 end
  end
end
stat('recovered', requeued + buried)
return {requeued, buried}
