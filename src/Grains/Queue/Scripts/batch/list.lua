-- ListBatches: a page of the batches, newest first (by creation), after a given one.
-- ARGV[7]  the batch the page starts after ('' for the newest)
-- ARGV[8]  how many batches at most
-- Returns how many batches there are, then id, created (Unix ms), ... for the page's batches; or {-1} alone when
-- ARGV[7] is not a batch (deleted, or forgotten after its retention, since the page before). One script, so no batch
-- created or forgotten between the rank and the range moves the page.
local after, limit = ARGV[7], tonumber(ARGV[8])
local first = 0
if after ~= '' then
  local rank = redis.call('ZREVRANK', K.batches, after)
  if not rank then return {-1} end
  first = rank + 1
end
local out = {redis.call('ZCARD', K.batches)}
for _, v in ipairs(redis.call('ZREVRANGE', K.batches, first, first + limit - 1, 'WITHSCORES')) do out[#out + 1] = v end
return out
