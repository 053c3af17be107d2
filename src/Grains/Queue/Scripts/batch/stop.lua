-- StopBatch: stops a batch, 'cancelled' or 'expired'. From now on its queued items are removed rather than leased,
-- and its items handed back or failing are removed rather than queued; items in flight finish. The caller then
-- removes what is queued, a page at a time (RemoveQueued).
-- ARGV[7]  batch id
-- ARGV[8]  why: 'cancelled' or 'expired'
-- ARGV[9]  when (Unix ms)
-- Returns the reason in effect: the first one stays.
local b, why, at = ARGV[7], ARGV[8], ARGV[9]
local batch = bkey('batch', b)
if redis.call('HSETNX', batch, 'stopped', why) == 1 then redis.call('HSET', batch, 'stopped_at', at) end
check_end(b)
return redis.call('HGET', batch, 'stopped')
