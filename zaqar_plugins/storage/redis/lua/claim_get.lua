-- KEYS: queue keys. ARGV: now, claim id.
-- Returns {} for no live claim, else {ttl, created, described messages}.
local k = queue(1)
local now = tonumber(ARGV[1])
local claim = ARGV[2]
local info = live_claim(k, claim, now)
if not info then return {} end
local out = {info[1], info[3]}
for _, id in ipairs(held(k, claim, now)) do
    local m = describe(k, id, now)
    if m then out[#out + 1] = m end
end
return out
