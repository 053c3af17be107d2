-- DeadLetter: moves a leased item straight to its batch's dead letters (malformed, a duplicate id, or an answer
-- that broke the batch's schema twice).
-- ARGV[7]      token
-- ARGV[8]      owner
-- ARGV[9]      reason
-- ARGV[10]     error, or ''
-- ARGV[11]     the model's answer, when it is the problem, or ''
-- ARGV[12..14] prompt tokens, completion tokens, backend ms of that answer: the tokens were spent
-- Returns 'dead', or 'lost' (not the owner's: nothing changed). A token already settled returns its first outcome.
local token, owner, reason = ARGV[7], ARGV[8], ARGV[9]
local err = ARGV[10] ~= '' and ARGV[10] or nil
local answer = ARGV[11] ~= '' and ARGV[11] or nil

if redis.call('HGET', K.owners, token) ~= owner then return settled(token) or 'lost' end

local it = load(item_of(token, redis.call('HGET', K.inflight, token)))
end_lease(it, token)
add_usage(it.b, ARGV[12], ARGV[13], ARGV[14])
dead_letter(it, reason, err, it.attempts + 1, owner, answer)
return remember(token, 'dead')
