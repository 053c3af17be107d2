-- Progress: a consistent snapshot of a batch.
-- ARGV[7]  batch id
-- Returns name, value, ... (absent ones left out): created, sealed, priority, deadline, stopped, ended, expires, and
-- the counts total, open, inflight, parked, done, dead, removed, late, duplicates, route (the model its items
-- need) and tenant (an API batch's); for a batch, total is its distinct items, for 'default' (raw items) there is none.
local b = ARGV[7]
local h = pairs_to_table(redis.call('HGETALL', bkey('batch', b)))
local out = {}
local function put(name, value) if value then out[#out + 1] = name; out[#out + 1] = value end end
for _, name in ipairs({'created', 'sealed', 'priority', 'deadline', 'stopped', 'ended', 'expires', 'open', 'inflight',
    'parked', 'done', 'dead', 'removed', 'late', 'duplicates', 'route', 'tenant'}) do
  put(name, h[name])
end
if b ~= 'default' then put('total', redis.call('HLEN', bkey('items', b))) end
return out
