-- RetryDead: puts a page of a batch's dead letters back in its class's ready set with fresh attempts, tagged like
-- new items, and marks each entry 'retried' (so positions stay put while paging). An entry whose item was cut short
-- can't be retried and stays.
-- ARGV[7]  batch id
-- ARGV[8]  first position in the batch's dead letters
-- ARGV[9]  how many
-- ARGV[10] when (Unix ms)
-- Returns {retried, too large to retry, the list's length}.
local b, first, n = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local dead = bkey('dead', b)
local c = batch_info(b).class
local tag = math.max(vtime(c), tonumber(redis.call('HGET', bkey('batch', b), 'tag') or '0'))
local retried, kept = 0, 0
for i, raw in ipairs(redis.call('LRANGE', dead, first, first + n - 1)) do
  local ok, e = pcall(cjson.decode, raw)
  if ok and type(e) == 'table' and not e.retried then
    if e.truncated then
      kept = kept + 1
    else
      if retried == 0 then revive(b) end
      redis.call('ZADD', K.class[c], tag, e.item)
      tag = tag + 1
      e.retried = tonumber(ARGV[10])
      redis.call('LSET', dead, first + i - 1, cjson.encode(e))
      retried = retried + 1
    end
  end
end
if retried > 0 then
  redis.call('HSET', bkey('batch', b), 'tag', tag)
  count(b, 'dead', -retried)
  count(b, 'open', retried)
  stat('dead', -retried)
end
return {retried, kept, redis.call('LLEN', dead)}
