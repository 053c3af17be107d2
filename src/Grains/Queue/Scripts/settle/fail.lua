-- Fail: a leased item's call failed.
-- ARGV[7]  token
-- ARGV[8]  owner
-- ARGV[9]  error
-- ARGV[10] retry delay (ms)
-- ARGV[11] whose fault: 'item' (a healthy backend refused it: it spends an attempt) or 'backend' (the owner's
--          backend failed: the item goes back to the head of where it waits for another silo, without spending an
--          attempt, unless it has now failed on two or more silos: then it is suspect itself and spends one, so an
--          item that breaks every backend is still dead-lettered in the end)
-- Returns 'retry', 'dead', 'released', 'removed' (its batch was cancelled or expired), or 'lost' (the lease was no
-- longer this owner's: nothing changed). A token already settled returns its first outcome and spends nothing.
local token, owner, err, retry_ms, blame = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10]), ARGV[11]

if redis.call('HGET', K.owners, token) ~= owner then return settled(token) or 'lost' end

local it = load(item_of(token, redis.call('HGET', K.inflight, token)))
if note_failure(it, owner) < 2 and blame == 'backend' then
  end_lease(it, token)
  return remember(token, push_head(it))
end
return remember(token, spend_attempt(it, token, owner, err, retry_ms))
