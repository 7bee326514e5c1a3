-- KEYS: source keys. ARGV: now, marker ('' for none), limit.
-- Returns {id, record} of live subscriptions after the marker, by id.
local k = source(1)
local now = tonumber(ARGV[1])
local after = ARGV[2] == '' and '-' or '(' .. ARGV[2]
local limit = tonumber(ARGV[3])
local out = {}
-- Expired ones wait there for the GC: read past them in batches.
local batch = math.max(limit * 2, 20)
while #out < limit do
    local ids = redis.call('ZRANGEBYLEX', k.subids, after, '+',
                           'LIMIT', 0, batch)
    for _, id in ipairs(ids) do
        after = '(' .. id
        local record = live(k, id, now)
        if record then
            out[#out + 1] = {id, record}
            if #out == limit then break end
        end
    end
    if #ids < batch then break end
end
return out
