-- DeleteBatch: deletes a batch and everything it holds. An ended batch goes at once; a running one is cancelled
-- (the caller removes what is queued) and goes when its last item in flight ends.
-- ARGV[7]  batch id
-- ARGV[8]  when (Unix ms)
-- Returns 'deleted', 'deleting', or 'missing'.
local b = ARGV[7]
local batch = bkey('batch', b)
local h = redis.call('HMGET', batch, 'created', 'ended')
if not h[1] then return 'missing' end
if h[2] then
  delete_batch(b)
  return 'deleted'
end
if redis.call('HSETNX', batch, 'stopped', 'cancelled') == 1 then redis.call('HSET', batch, 'stopped_at', ARGV[8]) end
redis.call('HSET', batch, 'delete', 1)
check_end(b)
if redis.call('EXISTS', batch) == 1 then return 'deleting' end
return 'deleted'
