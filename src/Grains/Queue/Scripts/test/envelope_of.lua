-- EnvelopeOf (tests only): what envelope_of reads from each payload, for the tests to hold Envelope to.
-- ARGV[7..]  payloads
-- Returns batch, number ('' for none), batch, number, ...
local out = {}
for i = 7, #ARGV do
  local b, n = envelope_of(ARGV[i])
  out[#out + 1] = b or ''
  out[#out + 1] = n or ''
end
return out
