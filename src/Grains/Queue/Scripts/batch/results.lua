-- Results: a page of stored results in their order.
-- ARGV[7]  whose: a batch id, or 'default@DAY' for the raw items' results of a day
-- ARGV[8]  the position to start after
-- ARGV[9]  page size
-- Returns result, position, result, position, ... in order.
local order, results = Q .. ':result-order:' .. ARGV[7], Q .. ':results:' .. ARGV[7]
local page = redis.call('ZRANGEBYSCORE', order, '(' .. ARGV[8], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[9]))
if #page == 0 then return {} end
local ids = {}
for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
local docs = redis.call('HMGET', results, unpack(ids))
local out = {}
for i = 1, #ids do
  out[#out + 1] = docs[i] or ''
  out[#out + 1] = page[2 * i]
end
return out
