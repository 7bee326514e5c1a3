-- KEYS: queue keys. ARGV: now, limit. Takes and deletes up to limit free
-- messages, oldest first; returns them described.
local k = queue(1)
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
reap(k, now)
local out = {}
while #out < limit do
    local popped = redis.call('ZPOPMIN', k.avail, limit - #out)
    if #popped == 0 then break end
    for i = 1, #popped, 2 do
        local m = describe(k, popped[i], now)
        if m then out[#out + 1] = m end
        remove(k, popped[i])
    end
end
return out
