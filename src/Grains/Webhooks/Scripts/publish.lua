-- publish.lua: stores an event once per (batch, type), due at once; publishing it again stores nothing.
-- KEYS[1]  the (batch, type) marker: the id of its event (QueueKeys.WebhookOnce)
-- KEYS[2]  the event's hash (QueueKeys.Webhook)
-- KEYS[3]  due: event id -> when it may be taken next (QueueKeys.Webhooks)
-- ARGV[1]  event id
-- ARGV[2]  body: the JSON sent, byte for byte, on every attempt
-- ARGV[3]  type
-- ARGV[4]  batch id
-- ARGV[5]  clock: '' for Redis TIME, or Unix ms
-- ARGV[6]  how long the marker is kept (ms; 0: for ever)
-- Output: {1, id} when this call stored the event, {0, id of the event stored before} when it was published already.
local now = now_ms(ARGV[5])
local ttl = tonumber(ARGV[6])
local set
if ttl > 0 then
  set = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl)
else
  set = redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if not set then
  return {0, redis.call('GET', KEYS[1])}
end
redis.call('HSET', KEYS[2], 'body', ARGV[2], 'type', ARGV[3], 'batch', ARGV[4], 'published', now, 'attempts', 0)
redis.call('ZADD', KEYS[3], now, ARGV[1])
return {1, ARGV[1]}
