-- Release: hands an owner's unfinished leases back without spending an attempt (a drain, an unreachable backend).
-- ARGV[7]    owner
-- ARGV[8..]  tokens, in lease order (at most a worker's limit: bounded by the caller)
-- Each item goes back to the head of where it waits, in their order; an item of a stopped batch is removed.
-- Returns how many leases the owner still held.
local owner = ARGV[7]
local n = 0
for i = #ARGV, 8, -1 do
  local token = ARGV[i]
  if redis.call('HGET', K.owners, token) == owner then
    local it = load(item_of(token, redis.call('HGET', K.inflight, token)))
    end_lease(it, token)
    push_head(it)
    n = n + 1
  end
end
return n
