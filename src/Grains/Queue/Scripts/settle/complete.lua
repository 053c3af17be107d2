-- Complete: records an answer; its item is done.
-- ARGV[7]      token of the lease the answer was asked under
-- ARGV[8]      owner
-- ARGV[9]      item id
-- ARGV[10]     result document
-- ARGV[11]     the item, as leased
-- ARGV[12..14] prompt tokens, completion tokens, backend ms: added to the batch's usage once, whatever the outcome
-- Returns 'done' (the result is stored), 'late' (the lease went back and its item ended elsewhere first: nothing is
-- stored), or 'conflict' (a raw item whose id has a result already, perhaps another item's: nothing changed and the
-- lease still holds, for the caller to discard the item or dead-letter it). A token already settled returns its
-- first outcome and changes nothing.
-- An answer whose lease went back (it expired, its owner was declared dead) is still kept while its item has not
-- ended: the item is taken out of wherever it waits, or from the lease that holds it now, which is fenced off.
local token, owner, id, result, v = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local prompt, completion, ms = ARGV[12], ARGV[13], ARGV[14]

local held = redis.call('HGET', K.owners, token) == owner
if not held then
  local first = settled(token)
  if first then return first end
end

local it = load(item_of(token, v))
if it.raw and raw_result_exists(id) then
  if held then return 'conflict' end
  return late(it, token, prompt, completion, ms)
end
if not held and not take_back(it) then return late(it, token, prompt, completion, ms) end

add_usage(it.b, prompt, completion, ms)
if held then end_lease(it, token) end
store_result(it, id, result)
finish(it)
return remember(token, 'done')
