-- Purge: forgets batches whose keys have expired (they ended result_ttl_ms ago): their index entries, and their
-- dead letters in the queue's count; and the raw results' days that have expired.
-- ARGV[7]  limit: the most batches in this call (the caller calls again while it gets that many)
-- Returns {batches, days}.
local limit = tonumber(ARGV[7])
local due = redis.call('ZRANGEBYSCORE', K.ended, '-inf', now_ms(), 'LIMIT', 0, limit)
for _, b in ipairs(due) do delete_batch(b) end
local days = 0
if result_ttl_ms > 0 then
  -- A day's bucket expires result_ttl_ms after the day ends.
  days = redis.call('ZREMRANGEBYSCORE', K.raw_days, '-inf', math.floor((now_ms() - result_ttl_ms) / day_ms) - 1)
end
return {#due, days}
