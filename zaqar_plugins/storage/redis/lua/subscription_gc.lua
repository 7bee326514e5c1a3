-- KEYS: source keys. ARGV: now, batch. Removes up to batch expired
-- subscriptions; returns how many went.
local k = source(1)
local ids = redis.call('ZRANGEBYSCORE', k.subexp, '-inf', ARGV[1],
                       'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do forget(k, id) end
return #ids
