#!lua name=qrun
-- Prototype of a run-based queue layout (issue 23): NOT the product. Loaded once with FUNCTION LOAD, called with FCALL.
-- Envelopes never enter Lua: the client writes them with plain HSET (Q:env:B, number -> envelope) before q_ready makes
-- them leasable, and the worker reads them with one plain HMGET. Items are leased in RUNS: up to R consecutive items
-- of one batch under one token, one Q:runs entry, one Q:deadlines entry; a run is settled with per-item outcomes.
--
-- Keys (Q = KEYS[1], B = a batch id):
--   Q:b:B        hash  next (numbers given), hi (ready up to), cur (next fresh number to lease), tag (fair-queuing
--                      tag of its next run), class, open, inflight, done, failed, dead, usage counters, sealed, stopped
--   Q:items:B    hash  item id -> number (dedupe, and reading a result by id)
--   Q:env:B      hash  number -> envelope (client-written; a done item's envelope is deleted, a dead one's kept)
--   Q:res:B      hash  number -> result document (ordered reading = HMGET of a number range)
--   Q:att:B      hash  number -> failed attempts (only items that failed once)
--   Q:dead:B     list  dead letters (JSON, with the envelope)
--   Q:ready:C    zset  batch -> tag of its next run, for batches with fresh items (C = high, normal, low)
--   Q:sched      hash  vt:C (class virtual time)
--   Q:retry      zset  'B|n' -> due ms: failed items waiting for their retry (also expired runs' open items)
--   Q:runs       hash  token -> 'owner|B|spec|mask' (spec 'lo-hi' or 'n,n,..'; mask a char per item: . open, d done,
--                      r retry, x dead)
--   Q:deadlines  zset  token -> lease deadline
--   Q:seq        string lease sequence
--   Q:settled:P  hash  token -> final mask of a run that ended (a settle sent again gets it; expires 2 periods on)

local classes = {'high', 'normal', 'low'}
local settle_ttl_ms = 120000

-- Lua 5.1 makes a number a string with sprintf (~2,300 instructions), and Redis 7.0's redis.call does the same
-- (snprintf %.17g) for a number argument. Numbers handed out in a row are made from a table of 2-digit strings built
-- once (at the first call: the library's loading code may not use the string library), kept in the library's Lua
-- state: a prefix made once per hundred, then one short concatenation each.
local two, one
local function numbers(first, count)
  if not two then
    two, one = {}, {}
    for i = 0, 99 do two[i], one[i] = string.format('%02d', i), tostring(i) end
  end
  local out, prefix, hundred = {}, nil, -1
  for n = first, first + count - 1 do
    local h = math.floor(n / 100)
    if h ~= hundred then
      hundred = h
      prefix = h > 0 and tostring(h) or nil
    end
    out[#out + 1] = prefix and prefix .. two[n - h * 100] or one[n]
  end
  return out
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function settled_key(Q, now, ago)
  local period = math.floor(now / settle_ttl_ms) - ago
  return Q .. ':settled:' .. period, period
end

-- q_reserve B id... : numbers the page's new ids (dedupe against Q:items:B and inside the page).
-- Returns {first number, mask} where mask has a char per id: '1' new (numbered in order from first), '0' known.
local function q_reserve(keys, args)
  local Q, b = keys[1], args[1]
  local bk = Q .. ':b:' .. b
  local ids = {}
  for i = 2, #args do ids[#ids + 1] = args[i] end
  local known = redis.call('HMGET', Q .. ':items:' .. b, unpack(ids))
  local seen, pairs_, mask, added = {}, {}, {}, 0
  local first = tonumber(redis.call('HGET', bk, 'next') or '0') + 1
  local nums = numbers(first, #ids)
  for j, id in ipairs(ids) do
    if not known[j] and not seen[id] then
      seen[id] = true
      added = added + 1
      pairs_[#pairs_ + 1] = id
      pairs_[#pairs_ + 1] = nums[added]
      mask[j] = '1'
    else
      mask[j] = '0'
    end
  end
  if added > 0 then
    redis.call('HSET', Q .. ':items:' .. b, unpack(pairs_))
    redis.call('HINCRBY', bk, 'next', added)
    redis.call('HINCRBY', bk, 'open', added)
  end
  return {first, table.concat(mask)}
end

-- q_ready B upto : the batch's numbers up to upto have their envelopes (written by the client since q_reserve):
-- they become leasable. The batch joins its class's turns, tagged from the later of the class's virtual time and its
-- own next tag (a batch that was idle gets no credit).
local function q_ready(keys, args)
  local Q, b, upto = keys[1], args[1], tonumber(args[2])
  local bk = Q .. ':b:' .. b
  local h = redis.call('HMGET', bk, 'hi', 'cur', 'tag', 'class', 'stopped')
  if h[5] then return redis.error_reply('batch ' .. b .. ' stopped') end
  local hi, cur = tonumber(h[1] or '0'), tonumber(h[2] or '1')
  if upto <= hi then return 0 end
  local c = h[4] or 'normal'
  redis.call('HSET', bk, 'hi', upto, 'cur', cur)
  if cur > hi then -- it had nothing fresh left: not in its class's set
    local vt = tonumber(redis.call('HGET', Q .. ':sched', 'vt:' .. c) or '0')
    redis.call('ZADD', Q .. ':ready:' .. c, 'NX', math.max(vt, tonumber(h[3] or '0')), b)
  end
  return upto - hi
end

-- q_lease R lease_ms owner : one run for the owner: due retries first (up to R of the first due item's batch), else
-- up to R fresh consecutive items of the batch whose turn it is (the highest class with one, the lowest tag in it).
-- Returns {token, batch, lo, hi} for a fresh run, {token, batch, 'n,n,..', 'a,a,..'} for a retry run (attempts), {} none.
local function q_lease(keys, args)
  local Q, R, lease_ms, owner = keys[1], tonumber(args[1]), tonumber(args[2]), args[3]
  if not R or R < 1 or R > 64 then return redis.error_reply('a run is 1 to 64 items') end -- bounds every call
  local now = now_ms()
  local b, spec, reply
  local k
  local due = redis.call('ZRANGEBYSCORE', Q .. ':retry', '-inf', now, 'LIMIT', 0, R)
  if #due > 0 then
    b = string.match(due[1], '^(.*)|')
    local prefix = b .. '|'
    local nums, members = {}, {}
    for _, m in ipairs(due) do
      if string.sub(m, 1, #prefix) == prefix then
        members[#members + 1] = m
        nums[#nums + 1] = string.sub(m, #prefix + 1)
      end
    end
    redis.call('ZREM', Q .. ':retry', unpack(members))
    local att = redis.call('HMGET', Q .. ':att:' .. b, unpack(nums))
    for i = 1, #att do att[i] = att[i] or '0' end
    k = #nums
    spec = table.concat(nums, ',')
    reply = {nil, b, spec, table.concat(att, ',')}
  else
    for _, c in ipairs(classes) do
      local top = redis.call('ZRANGE', Q .. ':ready:' .. c, 0, 0, 'WITHSCORES')
      if top[1] then
        b = top[1]
        local tag = tonumber(top[2])
        local bk = Q .. ':b:' .. b
        local h = redis.call('HMGET', bk, 'cur', 'hi', 'stopped')
        local cur, hi = tonumber(h[1] or '1'), tonumber(h[2] or '0')
        local last = math.min(cur + R - 1, hi)
        if h[3] or last < cur then
          -- A stopped batch, or none left (a broken invariant): out of the turns. The prototype does not remove a
          -- stopped batch's items here (today's lease does, a step each); the caller asks again.
          redis.call('ZREM', Q .. ':ready:' .. c, b)
          return {}
        end
        k = last - cur + 1
        redis.call('HSET', bk, 'cur', last + 1, 'tag', tag + k)
        redis.call('HSET', Q .. ':sched', 'vt:' .. c, tag)
        if last < hi then
          redis.call('ZADD', Q .. ':ready:' .. c, tag + k, b)
        else
          redis.call('ZREM', Q .. ':ready:' .. c, b)
        end
        spec = cur .. '-' .. last
        reply = {nil, b, cur, last}
        break
      end
    end
    if not b then return {} end
  end
  local token = redis.call('INCR', Q .. ':seq') .. '-' .. now
  redis.call('HSET', Q .. ':runs', token, owner .. '|' .. b .. '|' .. spec .. '|' .. string.rep('.', k))
  redis.call('ZADD', Q .. ':deadlines', now + lease_ms, token)
  redis.call('HINCRBY', Q .. ':b:' .. b, 'inflight', k)
  reply[1] = token
  return reply
end

-- The numbers of a run's spec, and a number -> position lookup.
local function run_items(spec)
  local lo, hi = string.match(spec, '^(%d+)%-(%d+)$')
  if lo then
    lo, hi = tonumber(lo), tonumber(hi)
    return hi - lo + 1, function(n) local p = n - lo + 1; if p >= 1 and p <= hi - lo + 1 then return p end end,
      function(p) return lo + p - 1 end
  end
  local nums, pos = {}, {}
  for s in string.gmatch(spec, '%d+') do
    nums[#nums + 1] = tonumber(s)
    pos[tonumber(s)] = #nums
  end
  return #nums, function(n) return pos[n] end, function(p) return nums[p] end
end

-- One failed attempt of item n of batch b: to the retries (due after retry_ms), or a dead letter with its envelope
-- and reason once it has failed max_att times. Returns 'r' or 'x'.
local function spend_attempt(Q, b, n, err, owner, retry_ms, max_att, now)
  local a = redis.call('HINCRBY', Q .. ':att:' .. b, n, 1)
  if a >= max_att then
    local v = redis.call('HGET', Q .. ':env:' .. b, n)
    redis.call('RPUSH', Q .. ':dead:' .. b, cjson.encode({reason = 'failed ' .. a .. ' attempts', error = err,
      attempts = a, batch = b, n = n, owner = owner, at = now, item = v}))
    redis.call('HDEL', Q .. ':att:' .. b, n)
    return 'x'
  end
  redis.call('ZADD', Q .. ':retry', now + retry_ms, b .. '|' .. n)
  return 'r'
end

-- The batch's counters, read once and written once a call (a Lua number handed to redis.call is made a string in C).
local function add_counts(bk, d)
  local fields, names = {}, {}
  for f, v in pairs(d) do if v ~= 0 then names[#names + 1] = f end end
  if #names == 0 then return {} end
  local old = redis.call('HMGET', bk, unpack(names))
  local now = {}
  for i, f in ipairs(names) do
    local v = tonumber(old[i] or '0') + d[f]
    now[f] = v
    fields[#fields + 1] = f
    fields[#fields + 1] = v
  end
  redis.call('HSET', bk, unpack(fields))
  return now
end

-- q_complete token owner prompt completion backend_ms retry_ms max_att nd (n doc)*nd (n err)* :
-- settles items of one run: nd answers, then failures. Refused ('lost') unless the run is still this owner's (its
-- lease expired and was swept, or it was recovered: its items went back). An item settled before keeps its first
-- outcome. Returns the run's mask after the call (a char per item of the run: . open, d done, r retry, x dead).
local function q_complete(keys, args)
  local Q, token, owner = keys[1], args[1], args[2]
  local retry_ms, max_att, nd = tonumber(args[6]), tonumber(args[7]), tonumber(args[8])
  local runs = Q .. ':runs'
  local rec = redis.call('HGET', runs, token)
  local now = now_ms()
  if not rec then
    return redis.call('HGET', (settled_key(Q, now, 0)), token) or redis.call('HGET', (settled_key(Q, now, 1)), token) or 'lost'
  end
  local o, b, spec, mask = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if o ~= owner then return 'lost' end
  local k, pos_of, num_at = run_items(spec)
  local marks = {string.byte(mask, 1, k)}
  local dot, d_, r_, x_ = 46, 100, 114, 120
  local res, dels, atts = {}, {}, {}
  local retried = not string.find(spec, '-', 1, true) -- a retry run lists its numbers
  local d = {done = 0, failed = 0, dead = 0, inflight = 0, open = 0,
    prompt_tokens = tonumber(args[3]) or 0, completion_tokens = tonumber(args[4]) or 0, backend_ms = tonumber(args[5]) or 0}
  local i = 9
  for j = 1, nd do
    local n = tonumber(args[i])
    local p = pos_of(n)
    if p and marks[p] == dot then
      marks[p] = d_
      -- An empty document: the caller wrote it itself (plain HSET before this call; the variant that keeps results
      -- out of Lua too).
      if args[i + 1] ~= '' then
        res[#res + 1] = args[i] -- the argument's own string: a number would be made a string again (sprintf)
        res[#res + 1] = args[i + 1]
      end
      dels[#dels + 1] = args[i]
      d.done, d.inflight, d.open = d.done + 1, d.inflight - 1, d.open - 1
    end
    i = i + 2
  end
  while i < #args do
    local n = tonumber(args[i])
    local p = pos_of(n)
    if p and marks[p] == dot then
      local out = spend_attempt(Q, b, args[i], args[i + 1], owner, retry_ms, max_att, now)
      d.inflight = d.inflight - 1
      if out == 'x' then
        marks[p] = x_
        d.dead, d.open = d.dead + 1, d.open - 1
      else
        marks[p] = r_
        d.failed = d.failed + 1
      end
    end
    i = i + 2
  end
  if #res > 0 then redis.call('HSET', Q .. ':res:' .. b, unpack(res)) end
  if #dels > 0 then
    redis.call('HDEL', Q .. ':env:' .. b, unpack(dels))
    if retried then redis.call('HDEL', Q .. ':att:' .. b, unpack(dels)) end
  end
  mask = string.char(unpack(marks))
  local bk = Q .. ':b:' .. b
  local counts = add_counts(bk, d)
  if not string.find(mask, '.', 1, true) then
    redis.call('HDEL', runs, token)
    redis.call('ZREM', Q .. ':deadlines', token)
    local key, period = settled_key(Q, now, 0)
    redis.call('HSET', key, token, mask)
    redis.call('PEXPIREAT', key, (period + 2) * settle_ttl_ms, 'NX')
  else
    redis.call('HSET', runs, token, o .. '|' .. b .. '|' .. spec .. '|' .. mask)
  end
  if counts.open == 0 then
    local h = redis.call('HMGET', bk, 'sealed', 'ended')
    if h[1] and not h[2] then redis.call('HSET', bk, 'ended', now) end -- (retention expiry as today: left out)
  end
  return mask
end

-- q_sweep limit : runs past their deadline go back: each open item spends an attempt (to the retries, due now, or a
-- dead letter). Returns {runs, items}.
local function q_sweep(keys, args)
  local Q, limit = keys[1], tonumber(args[1])
  local now = now_ms()
  local tokens = redis.call('ZRANGEBYSCORE', Q .. ':deadlines', '-inf', now, 'LIMIT', 0, limit)
  local items = 0
  for _, token in ipairs(tokens) do
    local rec = redis.call('HGET', Q .. ':runs', token)
    if rec then
      local o, b, spec, mask = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
      local k, _, num_at = run_items(spec)
      local d = {inflight = 0, dead = 0, open = 0, failed = 0}
      for p = 1, k do
        if string.byte(mask, p) == 46 then
          local out = spend_attempt(Q, b, num_at(p), 'lease expired (owner ' .. o .. ')', o, 0, tonumber(args[2] or '5'), now)
          d.inflight = d.inflight - 1
          if out == 'x' then d.dead, d.open = d.dead + 1, d.open - 1 else d.failed = d.failed + 1 end
          items = items + 1
        end
      end
      add_counts(Q .. ':b:' .. b, d)
      redis.call('HDEL', Q .. ':runs', token)
    end
    redis.call('ZREM', Q .. ':deadlines', token)
  end
  return {#tokens, items}
end

-- q_renew lease_ms owner token... : later deadlines for the owner's runs.
local function q_renew(keys, args)
  local Q, lease_ms, owner = keys[1], tonumber(args[1]), args[2]
  local deadline, renewed = now_ms() + lease_ms, 0
  for i = 3, #args do
    local rec = redis.call('HGET', Q .. ':runs', args[i])
    if rec and string.sub(rec, 1, #owner + 1) == owner .. '|' then
      redis.call('ZADD', Q .. ':deadlines', 'XX', deadline, args[i])
      renewed = renewed + 1
    end
  end
  return renewed
end

redis.register_function('q_reserve', q_reserve)
redis.register_function('q_ready', q_ready)
redis.register_function('q_lease', q_lease)
redis.register_function('q_complete', q_complete)
redis.register_function('q_sweep', q_sweep)
redis.register_function('q_renew', q_renew)
