-- RemoveQueued: removes queued items of a stopped batch, counting them for the batch.
-- ARGV[7]    batch id
-- ARGV[8..]  items (envelopes) as ZSCAN found them in its class's ready set or its model's parked set (a page)
-- Returns how many were still there.
local b = ARGV[7]
local info = batch_info(b)
if not info.stopped then return 0 end
local n = 0
for i = 8, #ARGV do
  local v = ARGV[i]
  if envelope_of(v) == b then
    if redis.call('ZREM', K.class[info.class], v) == 1 then
      remove(load(batch_item(v)))
      n = n + 1
    elseif info.model ~= '' and redis.call('ZREM', parked_key(info.model), v) == 1 then
      count(b, 'parked', -1)
      remove(load(batch_item(v)))
      n = n + 1
    end
  end
end
return n
