-- KEYS: queue keys. ARGV: now, claim id. Its messages are free at once.
local k = queue(1)
local now = tonumber(ARGV[1])
local claim = ARGV[2]
for _, id in ipairs(held(k, claim, now)) do
    redis.call('ZREM', k.claimed, id)
    redis.call('HDEL', k.cid, id)
    local visible = score(k.delayed, id)
    if not visible then redis.call('ZADD', k.avail, id, id) end
end
forget_claim(k, claim)
return 0
