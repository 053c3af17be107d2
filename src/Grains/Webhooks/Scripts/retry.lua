-- retry.lua: after a failed attempt, makes the event due again after a delay, or gives up on it past its max age.
-- KEYS[1]  due (QueueKeys.Webhooks)
-- KEYS[2]  the event's hash (QueueKeys.Webhook)
-- KEYS[3]  the dead list (QueueKeys.WebhookDead)
-- ARGV[1]  event id
-- ARGV[2]  the lease token of the failed attempt
-- ARGV[3]  what went wrong, e.g. 'HTTP 503'
-- ARGV[4]  the delay before the next attempt (ms)
-- ARGV[5]  max age (ms): no attempt later than this after the event was published
-- ARGV[6]  clock: '' for Redis TIME, or Unix ms
-- Output: 'retrying', 'dead', or 'fenced' (the lease ran out and another silo holds the event, or it was delivered).
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] then
  return 'fenced'
end
local now = now_ms(ARGV[6])
local published = tonumber(redis.call('HGET', KEYS[2], 'published'))
if now + tonumber(ARGV[4]) - published > tonumber(ARGV[5]) then
  local attempts = tonumber(redis.call('HGET', KEYS[2], 'attempts'))
  bury(KEYS[1], KEYS[3], KEYS[2], ARGV[1], string.format(
    'gave up after %s in %d s (the next would pass the max age): %s', attempts_text(attempts), math.floor((now - published) / 1000), ARGV[3]), now)
  return 'dead'
end
redis.call('HSET', KEYS[2], 'error', ARGV[3])
redis.call('HDEL', KEYS[2], 'token', 'owner')
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
return 'retrying'
