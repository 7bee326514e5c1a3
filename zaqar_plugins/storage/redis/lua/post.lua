-- KEYS: seq, queue keys, the queue's subscription ids. ARGV: now, then
-- (ttl, delay, record) per message.
-- Returns {the new ids in order, how many subscription ids the queue has
-- (expired ones included until collected)}.
local seq = KEYS[1]
local k = queue(2)
local subids = KEYS[#KEYS]
local now = tonumber(ARGV[1])
local ids = {}
for i = 2, #ARGV, 3 do
    local ttl = tonumber(ARGV[i])
    local delay = tonumber(ARGV[i + 1])
    local id = tostring(redis.call('INCR', seq))
    redis.call('HSET', k.msgs, id, ARGV[i + 2])
    redis.call('ZADD', k.all, id, id)
    redis.call('ZADD', k.exp, now + ttl, id)
    if delay > 0 then
        redis.call('ZADD', k.delayed, now + delay, id)
    else
        redis.call('ZADD', k.avail, id, id)
    end
    ids[#ids + 1] = id
end
return {ids, redis.call('ZCARD', subids)}
