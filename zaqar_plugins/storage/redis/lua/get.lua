-- KEYS: queue keys. ARGV: now, ids... Returns the live ones, described.
local k = queue(1)
local now = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
    local m = describe(k, ARGV[i], now)
    if m then out[#out + 1] = m end
end
return out
