-- Renew: pushes back the deadline of the leases an owner still holds.
-- ARGV[7]    lease duration (ms)
-- ARGV[8]    owner
-- ARGV[9..]  tokens (at most a worker's limit: bounded by the caller)
-- Returns how many of them the owner still held.
local deadline, owner = now_ms() + tonumber(ARGV[7]), ARGV[8]
local n = 0
for i = 9, #ARGV do
  if redis.call('HGET', K.owners, ARGV[i]) == owner then
    redis.call('ZADD', K.deadlines, 'XX', deadline, ARGV[i])
    n = n + 1
  end
end
return n
