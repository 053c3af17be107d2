-- CreateBatch: creates a batch unless it exists.
-- ARGV[7]    batch id
-- ARGV[8]    created (Unix ms, the silos' clock)
-- ARGV[9..]  field, value, ...: 'spec' the whole spec (JSON, read by C# only), and what the scripts read of it:
--            'priority' its class, 'route' the model key its items need ('' for each silo's own model), 'window' its
--            completion window (ms, '' for none)
-- Returns {} for a new batch, else the stored values of the given fields, in their order ('' where absent), for
-- the caller to compare.
local b, created = ARGV[7], tonumber(ARGV[8])
local batch = bkey('batch', b)
if redis.call('EXISTS', batch) == 1 then
  local fields = {}
  for i = 9, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
  local stored = redis.call('HMGET', batch, unpack(fields))
  for i = 1, #stored do stored[i] = stored[i] or '' end
  return stored
end
-- Its items get numbers above any given so far: a stale lease of an item of a batch deleted and created again under
-- the same id never matches one of the new batch's.
local first = tonumber(redis.call('GET', K.item_seq) or '0') + 1
redis.call('HSET', batch, 'created', created, 'first', first, 'open', 0, unpack(ARGV, 9))
redis.call('ZADD', K.batches, created, b)
local window = tonumber(redis.call('HGET', batch, 'window') or '')
if window and window > 0 then
  redis.call('HSET', batch, 'deadline', created + window)
  redis.call('ZADD', K.batch_deadlines, created + window, b)
end
return {}
