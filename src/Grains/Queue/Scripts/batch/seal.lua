-- Seal: marks a batch's submission complete, so it is complete once its items are.
-- ARGV[7]  batch id
-- Returns 1, or 0 for a batch that does not exist.
local b = ARGV[7]
if redis.call('EXISTS', bkey('batch', b)) == 0 then return 0 end
redis.call('HSET', bkey('batch', b), 'sealed', 1)
check_end(b)
return 1
