-- KEYS: queue keys. ARGV: now, claim id, ttl, grace.
-- Returns 1 when renewed, 0 when there is no live claim.
local k = queue(1)
local now = tonumber(ARGV[1])
local claim = ARGV[2]
local ttl = tonumber(ARGV[3])
local grace = tonumber(ARGV[4])
if not live_claim(k, claim, now) then return 0 end
local expires = now + ttl
local ids = held(k, claim, now)
redis.call('HSET', k.claims, claim,
           claim_record(ARGV[3], ARGV[4], ARGV[1], expires))
redis.call('ZADD', k.cexp, expires, claim)
for _, id in ipairs(ids) do
    redis.call('ZADD', k.claimed, expires, id)
    extend(k, id, expires + grace)
end
return 1
