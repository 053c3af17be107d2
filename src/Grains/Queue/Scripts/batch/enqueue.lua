-- Enqueue: adds a batch's items to its class's ready set, numbering the new ones in submission order.
-- ARGV[7]    batch id
-- ARGV[8..]  item id, envelope, item id, envelope, ... (a page: bounded by the caller)
-- Returns how many were new; ids the batch already has are skipped. A batch that does not exist, or was cancelled
-- or expired, takes nothing (an error).
-- Each new item gets a number from the queue's item sequence, rising in submission order and never given twice, in its
-- envelope ("n", right after the batch id): the scripts find an item's record by it, and results are read in its order.
-- Start-time fair queuing: the items are tagged on from the later of the class's virtual time and the batch's own
-- next tag, one apart. A batch submitted behind a long one starts near the long one's head, so the two take turns;
-- a batch that was idle gets no credit for it.
local b = ARGV[7]
local batch = bkey('batch', b)
local h = redis.call('HMGET', batch, 'created', 'stopped', 'tag')
if not h[1] then return redis.error_reply('batch ' .. b .. ' does not exist') end
if h[2] then return redis.error_reply('batch ' .. b .. ' is ' .. h[2] .. '; it takes no more items') end
local prefix = '{"olm":{"b":"' .. b .. '"'
for i = 9, #ARGV, 2 do
  if string.sub(ARGV[i], 1, #prefix) ~= prefix then return redis.error_reply('item ' .. ARGV[i - 1] .. ' is not an envelope of batch ' .. b) end
end

local c = batch_info(b).class
local tag = math.max(vtime(c), tonumber(h[3] or '0'))
-- Numbers for the whole page at once; those of ids the batch has already stay unused.
local pairs_given = (#ARGV - 7) / 2
local n = redis.call('INCRBY', K.item_seq, pairs_given) - pairs_given
local added = 0
for i = 8, #ARGV - 1, 2 do
  if redis.call('HSETNX', bkey('items', b), ARGV[i], n + 1) == 1 then
    n = n + 1
    local v = ARGV[i + 1]
    redis.call('ZADD', K.class[c], tag, prefix .. ',"n":' .. n .. string.sub(v, #prefix + 1))
    tag = tag + 1
    added = added + 1
  end
end
redis.call('HSET', batch, 'tag', tag)
if added > 0 then
  count(b, 'open', added)
  -- A batch that had ended takes items again: its keys no longer expire.
  revive(b)
end
return added
