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
-- The page's ids read in one HMGET, the new ones written in one HSET and one ZADD: the same as an HSETNX and a ZADD
-- per item, the first of an id given twice in the page taken.
local items = bkey('items', b)
local ids = {}
for i = 8, #ARGV - 1, 2 do ids[#ids + 1] = ARGV[i] end
local known = #ids > 0 and redis.call('HMGET', items, unpack(ids)) or {}
local seen, numbers, entries = {}, {}, {}
local added = 0
for j, id in ipairs(ids) do
  if not known[j] and not seen[id] then
    seen[id] = true
    n, added = n + 1, added + 1
    -- The number made a string once, for the envelope and the id alike.
    local number = n .. ''
    numbers[2 * added - 1], numbers[2 * added] = id, number
    entries[2 * added - 1], entries[2 * added] = tag, prefix .. ',"n":' .. number .. string.sub(ARGV[7 + 2 * j], #prefix + 1)
    tag = tag + 1
  end
end
redis.call('HSET', batch, 'tag', tag)
if added > 0 then
  redis.call('HSET', items, unpack(numbers))
  redis.call('ZADD', K.class[c], unpack(entries))
  count(b, 'open', added)
  -- A batch that had ended takes items again: its keys no longer expire.
  revive(b)
end
return added
