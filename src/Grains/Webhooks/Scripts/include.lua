-- include.lua: what every webhook script shares, run before the script's own file (WebhookScript composes them).
-- An event is a hash (QueueKeys.Webhook): body, type, batch, published (ms), attempts, and while a silo sends it,
-- token and owner; error once an attempt failed. The due set (QueueKeys.Webhooks) scores it by when it may be taken
-- next, so a lease that runs out makes the event due again by itself.

-- Now in Unix ms: Redis' clock (clock == ''), or the caller's (tests move time themselves).
local function now_ms(clock)
  if clock ~= '' then return tonumber(clock) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- '1 attempt', '3 attempts'.
local function attempts_text(n)
  return n == 1 and '1 attempt' or string.format('%d attempts', n)
end

-- Moves an event to the dead list with the reason, and forgets it.
local function bury(due, dead, event_key, id, reason, now)
  local e = redis.call('HMGET', event_key, 'type', 'batch', 'published', 'attempts', 'body')
  redis.call('RPUSH', dead, cjson.encode({
    id = id, type = e[1], batch = e[2], published = tonumber(e[3]), attempts = tonumber(e[4]) or 0,
    died = now, reason = reason, body = e[5]}))
  redis.call('DEL', event_key)
  redis.call('ZREM', due, id)
end
