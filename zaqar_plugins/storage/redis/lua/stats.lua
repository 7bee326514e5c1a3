-- KEYS: queue keys. ARGV: now.
-- Returns {claimed, total, oldest record or '', oldest id, newest
-- record or '', newest id}.
local k = queue(1)
local now = tonumber(ARGV[1])
local total = redis.call('ZCOUNT', k.exp, '(' .. ARGV[1], '+inf')
local claimed = redis.call('ZCOUNT', k.claimed, '(' .. ARGV[1], '+inf')
local function first_live(rev)
    local start = 0
    while true do
        local ids
        if rev then
            ids = redis.call('ZREVRANGE', k.all, start, start + 99)
        else
            ids = redis.call('ZRANGE', k.all, start, start + 99)
        end
        if #ids == 0 then return {'', ''} end
        for _, id in ipairs(ids) do
            local expires = score(k.exp, id)
            if expires and expires > now then
                return {redis.call('HGET', k.msgs, id) or '', id}
            end
        end
        start = start + 100
    end
end
if total == 0 then return {claimed, 0, '', '', '', ''} end
local oldest = first_live(false)
local newest = first_live(true)
return {claimed, total, oldest[1], oldest[2], newest[1], newest[2]}
