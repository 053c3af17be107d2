-- common.lua: the queue's names, its clock, item records and counters. Every script is common.lua, ending.lua,
-- scheduling.lua, settling.lua and then its own file, composed by QueueScript, so every local of these is in scope in
-- every script.
--
-- KEYS[1]  the queue's name Q: the raw ready list. Every other key starts with Q and is named below (QueueKeys is
--          the C# twin; a test holds the two to each other). On Redis Cluster, Q carries a hash tag, so every key
--          lands in Q's slot: that lets a script reach the keys of the batch of an item it meets on the way (Redis
--          checks that every key a script touches is in the slot the script runs in).
-- ARGV[1]  max attempts: an item is dead-lettered on its max_attempts-th failure
-- ARGV[2]  dead letters keep at most this many bytes of their item
-- ARGV[3]  dead letters of raw items kept (0: all)
-- ARGV[4]  result TTL (ms): how long a batch's keys are kept after it ends (0: for ever)
-- ARGV[5]  how long a settled lease's outcome is remembered (ms), so a settle sent again returns it
-- ARGV[6]  the clock: '' for Redis TIME, or Unix ms (model-based tests move time themselves)
-- A script's own arguments start at ARGV[7].

local Q = KEYS[1]
local max_attempts, dead_max_bytes, raw_dead_max, result_ttl_ms, settle_ttl_ms, clock =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

local K = {
  ready = Q,                               -- raw items (list); producers RPUSH, workers take the head
  inflight = Q .. ':inflight',             -- token -> item: leased and waiting items (KEDA reads HLEN)
  owners = Q .. ':owners',                 -- token -> silo holding the lease (none while the item waits)
  deadlines = Q .. ':deadlines',           -- token -> lease deadline (ms)
  retries = Q .. ':retries',               -- token -> when a waiting item may be tried again (ms)
  lease_errors = Q .. ':lease-errors',     -- token -> the error a waiting item failed with
  lease_seq = Q .. ':lease-seq',           -- the last token's number
  item_seq = Q .. ':item-seq',             -- the last number given to a batch's item: numbers never repeat, across batches
  raw_state = Q .. ':raw-state',           -- SHA-1 of a raw item -> its record
  sched = Q .. ':sched',                   -- vt:CLASS, raw (the raw list's next tag), served:M, dead:B (ended batches)
  stats = Q .. ':stats',                   -- dead, duplicates, recovered, late, fenced: the whole queue's counts
  batches = Q .. ':batches',               -- batch id -> created (ms)
  batch_deadlines = Q .. ':batch-deadlines', -- batch id -> deadline (ms)
  ended = Q .. ':ended',                   -- batch id -> when its keys expire (ms): Purge drops its index entries
  raw_days = Q .. ':raw-days',             -- day -> day: the buckets raw results roll over in
  class = {high = Q .. ':ready:high', normal = Q .. ':ready:normal', low = Q .. ':ready:low'},
}

-- The keys one batch creates; retention expires them together.
local batch_suffix = {
  batch = ':batch:',           -- hash: spec, created, first (its items' lowest number), sealed, stopped, ended, expires, counters, usage
  items = ':batch-items:',     -- hash: item id -> number (rising in submission order); HLEN is the total
  state = ':batch-state:',     -- hash: item number -> record
  results = ':results:',       -- hash: item id -> result document
  order = ':result-order:',    -- sorted set: item id -> number, so results are read in submission order
  dead = ':dead:',             -- list: dead letters (JSON)
}
local batch_kinds = {'batch', 'items', 'state', 'results', 'order', 'dead'}
local class_order = {'high', 'normal', 'low'}
local function bkey(kind, b) return Q .. batch_suffix[kind] .. b end
local function parked_key(m) return Q .. ':parked:' .. m end

local clock_ms
local function now_ms()
  if not clock_ms then
    if clock ~= '' then
      clock_ms = tonumber(clock)
    else
      local t = redis.call('TIME')
      clock_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
  end
  return clock_ms
end

-- The batch and number of an envelope the batch store enqueued ({"olm":{"b":B,"n":N,...}); nil for anything else.
-- Batch ids are BatchIds.IsValid's: ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ (Redis runs Lua in the C locale: %w is ASCII).
local function envelope_of(v)
  local b, n = string.match(v, '^{"olm":{"b":"([%w][%w%._%-]*)","n":(%d+)[,}]')
  if b and #b <= 64 then return b, n end
end

local function is_enveloped(v) return string.sub(v, 1, 13) == '{"olm":{"b":"' end

-- An item: its payload v, its batch b ('default' for raw items) and where its record lives. A batch's item is known by
-- its number (n in its envelope, from the queue's item sequence); a raw item by its payload's SHA-1 (the same payload
-- twice is the same item).
local state_keys = {} -- batch -> its records' key, made once a call
local function batch_item(v)
  local b, n = envelope_of(v)
  local home = state_keys[b]
  if not home then
    home = bkey('state', b)
    state_keys[b] = home
  end
  return {v = v, b = b, home = home, field = n, n = tonumber(n)}
end

local function raw_item(v)
  return {v = v, b = 'default', raw = true, home = K.raw_state, field = redis.sha1hex(v)}
end

-- A token says what it leased: '...b' a batch's item, '...r' a raw item.
local function item_of(token, v)
  if string.sub(token, -1) == 'r' then return raw_item(v) end
  return batch_item(v)
end

-- An item's record: 'state|attempts|token|failed_on'. States: q ready, p parked, l leased (under token), w waiting
-- for its retry (token: its entry in inflight). failed_on: the silos whose backend failed on it, space-separated.
-- An item has a record from its first lease (or parking) until it ends, and only then: no record means ready and
-- never tried, or, for an item a token names, ended.
local function load(it)
  local s = redis.call('HGET', it.home, it.field)
  if s then
    local st, a, t, f = string.match(s, '^(%a)|(%d+)|([^|]*)|(.*)$')
    it.state, it.attempts, it.token, it.failed_on = st, tonumber(a), t, f
  else
    it.state, it.attempts, it.token, it.failed_on = nil, 0, '', ''
  end
  return it
end

local function save(it, state, token)
  it.state, it.token = state, token or ''
  redis.call('HSET', it.home, it.field, state .. '|' .. it.attempts .. '|' .. it.token .. '|' .. it.failed_on)
end

local function forget(it)
  redis.call('HDEL', it.home, it.field)
  it.state = nil
end

-- A batch's counters live in its hash: open (items not ended), inflight (leased or waiting), parked, done, dead,
-- removed, late, duplicates, and its usage. The raw items count as batch 'default'.
local function count(b, field, d) return redis.call('HINCRBY', bkey('batch', b), field, d) end
local function stat(field, d) redis.call('HINCRBY', K.stats, field, d) end

-- What the scripts read of a batch, once per script call: its priority class, its model key ('' for each silo's
-- own model, which every silo serves) and why it stopped (false while it runs).
local batch_info_cache = {}
local function batch_info(b)
  local info = batch_info_cache[b]
  if not info then
    local h = redis.call('HMGET', bkey('batch', b), 'priority', 'route', 'stopped')
    info = {class = K.class[h[1]] and h[1] or 'normal', model = h[2] or '', stopped = h[3]}
    batch_info_cache[b] = info
  end
  return info
end

-- A settle remembers its outcome under its token for a while, so the same settle sent again (its answer was lost
-- in a timeout) returns the first outcome and changes nothing. Outcomes go in a hash per period of settle_ttl_ms,
-- which expires a period after its own ends: a settle is found for at least settle_ttl_ms, and there are never more
-- than a few such keys, whatever the rate.
local function settled_key(ago)
  local period = math.floor(now_ms() / settle_ttl_ms) - ago
  return Q .. ':settled:' .. period, period
end

local function remember(token, outcome)
  local key, period = settled_key(0)
  redis.call('HSET', key, token, outcome)
  redis.call('PEXPIREAT', key, (period + 2) * settle_ttl_ms, 'NX')
  return outcome
end

local function settled(token) return redis.call('HGET', settled_key(0), token) or redis.call('HGET', settled_key(1), token) end

-- Reads a page of name, value pairs into a table (HGETALL, HMGET-like replies).
local function pairs_to_table(list)
  local t = {}
  for i = 1, #list, 2 do t[list[i]] = list[i + 1] end
  return t
end
