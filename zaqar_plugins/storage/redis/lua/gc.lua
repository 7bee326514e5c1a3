-- KEYS: queue keys. ARGV: now, batch. Removes up to batch expired
-- messages and up to batch expired claims; returns how many went.
local k = queue(1)
local now = tonumber(ARGV[1])
local batch = tonumber(ARGV[2])
local removed = 0
reap(k, now)
local ids = redis.call('ZRANGEBYSCORE', k.exp, '-inf', now,
                       'LIMIT', 0, batch)
for _, id in ipairs(ids) do
    remove(k, id)
    removed = removed + 1
end
local claims = redis.call('ZRANGEBYSCORE', k.cexp, '-inf', now,
                          'LIMIT', 0, batch)
for _, claim in ipairs(claims) do
    forget_claim(k, claim)
    removed = removed + 1
end
return removed
