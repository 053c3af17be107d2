-- delivered.lua: forgets an event its receiver accepted.
-- KEYS[1]  due (QueueKeys.Webhooks)
-- KEYS[2]  the event's hash (QueueKeys.Webhook)
-- ARGV[1]  event id
-- Output: 1 when the event was still stored, 0 when it was gone already.
-- No token check: once any attempt was accepted, the event is done, even if its lease ran out and another silo holds
-- it now (that silo's own outcome then finds nothing to change).
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('DEL', KEYS[2])
