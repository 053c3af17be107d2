-- Discard: drops the lease of a raw item whose id already has this very item's result (it was delivered twice);
-- it ends without a second result, counted as a duplicate.
-- ARGV[7]      token
-- ARGV[8]      owner
-- ARGV[9..11]  prompt tokens, completion tokens, backend ms spent on it
-- Returns 'discarded', or 'lost' (not the owner's: nothing changed). A token already settled returns its first outcome.
local token, owner = ARGV[7], ARGV[8]

if redis.call('HGET', K.owners, token) ~= owner then return settled(token) or 'lost' end

local it = load(item_of(token, redis.call('HGET', K.inflight, token)))
-- A batch's ids are unique when they are submitted: only raw items can be delivered twice.
if not it.raw then return redis.error_reply('Discard takes raw items only, not an item of batch ' .. it.b) end
end_lease(it, token)
add_usage(it.b, ARGV[9], ARGV[10], ARGV[11])
count(it.b, 'duplicates', 1)
stat('duplicates', 1)
finish(it)
return remember(token, 'discarded')
