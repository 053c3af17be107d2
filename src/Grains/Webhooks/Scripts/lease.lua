-- lease.lua: takes the events that are due (published, retry due, or their sender's lease run out) for one sender.
-- KEYS[1]  due (QueueKeys.Webhooks)
-- KEYS[2]  the lease token sequence (QueueKeys.WebhookSequence)
-- KEYS[3]  the dead list (QueueKeys.WebhookDead)
-- ARGV[1]  the prefix of an event's key (QueueKeys.Webhook of ''): the id follows it, in the due set's slot
-- ARGV[2]  clock: '' for Redis TIME, or Unix ms
-- ARGV[3]  lease duration (ms)
-- ARGV[4]  most events to take (bounded, so the script stays short)
-- ARGV[5]  owner: who takes them, for the record
-- ARGV[6]  max age (ms): an event whose sender vanished past it is given up on, not sent again
-- Output: {id, token, attempts, body, ...} for each event taken; its attempts count this one.
local now = now_ms(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local e = redis.call('HMGET', key, 'body', 'published', 'token', 'attempts')
  if not e[1] then
    redis.call('ZREM', KEYS[1], id)
  elseif e[3] and now - tonumber(e[2]) > tonumber(ARGV[6]) then
    -- Its last sender took it and never said how it went: it may have been delivered, but no one can tell.
    bury(KEYS[1], KEYS[3], key, id, string.format(
      'gave up after %s: the last one ended without an outcome (its silo stopped) past the max age', attempts_text(tonumber(e[4]))), now)
  else
    local token = redis.call('INCR', KEYS[2])
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'token', token, 'owner', ARGV[5])
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
    table.insert(out, id)
    table.insert(out, tostring(token))
    table.insert(out, attempts)
    table.insert(out, e[1])
  end
end
return out
