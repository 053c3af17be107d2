-- Names (tests only): every key name the scripts use, for the tests to hold QueueKeys to.
-- ARGV[7]  a batch id
-- ARGV[8]  a model key
-- Returns name, key, ...
local out = {}
for name, key in pairs(K) do
  if type(key) == 'string' then out[#out + 1] = name; out[#out + 1] = key end
end
for c, key in pairs(K.class) do out[#out + 1] = 'class.' .. c; out[#out + 1] = key end
for _, kind in ipairs(batch_kinds) do out[#out + 1] = 'batch.' .. kind; out[#out + 1] = bkey(kind, ARGV[7]) end
out[#out + 1] = 'parked'; out[#out + 1] = parked_key(ARGV[8])
out[#out + 1] = 'settled'; out[#out + 1] = (settled_key(0))
local results, order = raw_results(1)
out[#out + 1] = 'raw.results'; out[#out + 1] = results
out[#out + 1] = 'raw.order'; out[#out + 1] = order
return out
