-- Complete: records answers, 1 to 64 in one call (a worker's group commit); each ends exactly as it would sent alone,
-- one after the other in their order.
-- ARGV[7..]  8 per answer: the token of the lease it was asked under, owner, item id, result document, the item as
--            leased, prompt tokens, completion tokens, backend ms (added to the batch's usage once, whatever the outcome)
-- Returns each answer's outcome, in their order: 'done' (the result is stored), 'late' (the lease went back and its
-- item ended elsewhere first: nothing is stored), or 'conflict' (a raw item whose id has a result already, perhaps
-- another item's: nothing changed and the lease still holds, for the caller to discard the item or dead-letter it).
-- A token already settled returns its first outcome and changes nothing.
-- An answer whose lease went back (it expired, its owner was declared dead) is still kept while its item has not
-- ended: the item is taken out of wherever it waits, or from the lease that holds it now, which is fenced off.
--
-- What answers share is written once a call, not once an answer: the owners are read in one HMGET; the leases end in
-- one HDEL of inflight, one of owners and one ZREM of deadlines; records go in one HDEL per batch; results in one
-- HSET (and one ZADD of their order) per batch; counters and usage in one HINCRBY per batch and field; outcomes in one
-- HSET. An answer its owner still holds (the usual case) reads nothing of its item. Later answers see what earlier
-- ones did through the tables below (gone, forgotten, firsts, stored), so the outcomes are those of one call each.
local group_max = 64
local args = #ARGV - 6
if args < 8 or args % 8 ~= 0 or args / 8 > group_max then
  return redis.error_reply('Complete takes 1 to ' .. group_max .. ' answers of 8 arguments each, not ' .. args .. ' arguments')
end
local n = args / 8

local tokens = {}
for i = 1, n do tokens[i] = ARGV[7 + (i - 1) * 8] end
local holders = redis.call('HMGET', K.owners, unpack(tokens))

local deltas, touched = {}, {}  -- batch -> field -> sum; the batches in the order met, so writes keep one order
local function add(b, field, d)
  local t = deltas[b]
  if not t then
    t = {}
    deltas[b] = t
    touched[#touched + 1] = b
  end
  t[field] = (t[field] or 0) + d
end

local function add_usage_of(b, a)
  add(b, 'prompt_tokens', tonumber(ARGV[a + 5]) or 0)
  add(b, 'completion_tokens', tonumber(ARGV[a + 6]) or 0)
  add(b, 'backend_ms', tonumber(ARGV[a + 7]) or 0)
end

local stats = {late = 0, duplicates = 0}
local gone, ended = {}, {}        -- tokens whose lease ended in this call
local forgotten, drops, homes = {}, {}, {} -- records ended in this call: home -> field -> true; home -> fields
local firsts, remembered = {}, {} -- outcomes settled in this call
local results, raw_ids, raw_docs, stored = {}, {}, {}, {} -- results to write; raw ids stored in this call

local function end_lease_of(it, token)
  gone[token] = true
  ended[#ended + 1] = token
  add(it.b, 'inflight', -1)
end

local function finish_of(it)
  local fields = drops[it.home]
  if not fields then
    fields = {}
    drops[it.home], forgotten[it.home] = fields, {}
    homes[#homes + 1] = it.home
  end
  fields[#fields + 1] = it.field
  forgotten[it.home][it.field] = true
  if not it.raw then add(it.b, 'open', -1) end
end

local function store_of(it, id, result)
  if it.raw then
    raw_ids[#raw_ids + 1], raw_docs[#raw_docs + 1] = id, result
    stored[id] = true
  else
    local r = results[it.b]
    if not r then
      r = {ids = {}, docs = {}, numbers = {}, seen = {}}
      results[it.b] = r
    end
    if r.seen[id] then
      stats.duplicates = stats.duplicates + 1
    else
      r.seen[id] = true
      r.ids[#r.ids + 1], r.docs[#r.docs + 1], r.numbers[#r.numbers + 1] = id, result, it.n
    end
  end
  add(it.b, 'done', 1)
end

local function remember_of(token, outcome)
  firsts[token] = outcome
  remembered[#remembered + 1] = token
  remembered[#remembered + 1] = outcome
  return outcome
end

local function load_of(it)
  if forgotten[it.home] and forgotten[it.home][it.field] then
    it.state, it.attempts, it.token, it.failed_on = nil, 0, '', ''
    return it
  end
  return load(it)
end

-- Which raw ids have a result today or yesterday: read once for every raw answer of the call.
local raw_known = {}
do
  local ids = {}
  for i = 1, n do
    if string.sub(tokens[i], -1) == 'r' then ids[#ids + 1] = ARGV[7 + (i - 1) * 8 + 2] end
  end
  local day = math.floor(now_ms() / day_ms)
  for d = day, day - 1, -1 do
    if #ids == 0 then break end
    local found, missing = redis.call('HMGET', (raw_results(d)), unpack(ids)), {}
    for j = 1, #ids do
      if found[j] then raw_known[ids[j]] = true else missing[#missing + 1] = ids[j] end
    end
    ids = missing
  end
end

local function raw_exists(id) return raw_known[id] or stored[id] end

local firsts_of_batch = {}
local function late_of(it, token, a)
  local counted = it.raw
  if not counted then
    local first = firsts_of_batch[it.b]
    if first == nil then
      first = redis.call('HGET', bkey('batch', it.b), 'first')
      firsts_of_batch[it.b] = first
    end
    counted = first and tonumber(first) <= it.n
  end
  if counted then
    add_usage_of(it.b, a)
    add(it.b, 'late', 1)
  end
  stats.late = stats.late + 1
  return remember_of(token, 'late')
end

local function complete_one(i)
  local a = 7 + (i - 1) * 8
  local token, owner, id, result, v = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local held = holders[i] == owner and not gone[token]
  if not held then
    local first = firsts[token] or settled(token)
    if first then return first end
  end

  local it = item_of(token, v)
  if not held then load_of(it) end
  if it.raw and raw_exists(id) then
    if held then return 'conflict' end
    return late_of(it, token, a)
  end
  if not held then
    -- A lease that holds the item now is fenced off at once (take_back ends it): mark it, since owners was read before.
    if it.state == 'l' then gone[it.token] = true end
    if not take_back(it) then return late_of(it, token, a) end
  end

  add_usage_of(it.b, a)
  if held then end_lease_of(it, token) end
  store_of(it, id, result)
  finish_of(it)
  return remember_of(token, 'done')
end

local outcomes = {}
for i = 1, n do outcomes[i] = complete_one(i) end

-- The writes, in an order that keeps what sequential calls would leave: every write to a batch's keys before its end
-- check (which may set them to expire, or unlink them).
if #ended > 0 then
  redis.call('HDEL', K.inflight, unpack(ended))
  redis.call('HDEL', K.owners, unpack(ended))
  redis.call('ZREM', K.deadlines, unpack(ended))
end
for _, home in ipairs(homes) do redis.call('HDEL', home, unpack(drops[home])) end

-- Raw results go in completion order, in the day's bucket, which expires result_ttl_ms after the day; a batch's in
-- submission order (its items' numbers).
if #raw_ids > 0 then
  local day = math.floor(now_ms() / day_ms)
  local key, order = raw_results(day)
  local pairs_, scores = {}, {}
  for j = 1, #raw_ids do
    pairs_[#pairs_ + 1] = raw_ids[j]
    pairs_[#pairs_ + 1] = raw_docs[j]
  end
  redis.call('HSET', key, unpack(pairs_))
  local total = redis.call('HLEN', key)
  for j = 1, #raw_ids do
    scores[#scores + 1] = total - #raw_ids + j
    scores[#scores + 1] = raw_ids[j]
  end
  redis.call('ZADD', order, unpack(scores))
  if total == #raw_ids then
    redis.call('ZADD', K.raw_days, day, day)
    if result_ttl_ms > 0 then
      redis.call('PEXPIREAT', key, (day + 1) * day_ms + result_ttl_ms)
      redis.call('PEXPIREAT', order, (day + 1) * day_ms + result_ttl_ms)
    end
  end
end

for _, b in ipairs(touched) do
  local r = results[b]
  if r and #r.ids == 1 then
    if redis.call('HSETNX', bkey('results', b), r.ids[1], r.docs[1]) == 1 then
      redis.call('ZADD', bkey('order', b), r.numbers[1], r.ids[1])
    else
      -- Never expected: a batch's ids are unique and its item has one record. Counted, not hidden.
      stats.duplicates = stats.duplicates + 1
    end
  elseif r then
    local there = redis.call('HMGET', bkey('results', b), unpack(r.ids))
    local docs, scores = {}, {}
    for j = 1, #r.ids do
      if there[j] then
        stats.duplicates = stats.duplicates + 1
      else
        docs[#docs + 1] = r.ids[j]
        docs[#docs + 1] = r.docs[j]
        scores[#scores + 1] = r.numbers[j]
        scores[#scores + 1] = r.ids[j]
      end
    end
    if #docs > 0 then
      redis.call('HSET', bkey('results', b), unpack(docs))
      redis.call('ZADD', bkey('order', b), unpack(scores))
    end
  end
end

local ending = {}
for _, b in ipairs(touched) do
  for _, field in ipairs({'prompt_tokens', 'completion_tokens', 'backend_ms', 'done', 'late', 'inflight', 'open'}) do
    local d = deltas[b][field]
    if d and d ~= 0 then
      local now = count(b, field, d)
      if field == 'open' and now == 0 then ending[#ending + 1] = b end
    end
  end
end
if stats.late > 0 then stat('late', stats.late) end
if stats.duplicates > 0 then stat('duplicates', stats.duplicates) end

if #remembered > 0 then
  local key, period = settled_key(0)
  redis.call('HSET', key, unpack(remembered))
  redis.call('PEXPIREAT', key, (period + 2) * settle_ttl_ms, 'NX')
end

for _, b in ipairs(ending) do check_end(b) end
return outcomes
