-- KEYS: source keys. ARGV: now, id, then (field, value) pairs, fields
-- among subscriber, ttl, options (JSON) and confirmed ('1'/'0').
-- Returns {0} when updated, {1} when no live subscription has the id, or
-- {2, holder id} when another live one holds the new subscriber (then
-- nothing changed).
local k = source(1)
local now = tonumber(ARGV[1])
local id = ARGV[2]
local record = live(k, id, now)
if not record then return {1} end
local s = parse(record)
local new = {}
for i = 3, #ARGV, 2 do new[ARGV[i]] = ARGV[i + 1] end
if new.subscriber and new.subscriber ~= s.subscriber then
    local holder = take(k, new.subscriber, id, now)
    if holder then return {2, holder} end
    release(k, s.subscriber, id)
    s.subscriber = new.subscriber
end
if new.ttl then
    s.ttl = new.ttl
    redis.call('ZADD', k.subexp, now + tonumber(new.ttl), id)
end
s.options = new.options or s.options
s.confirmed = new.confirmed or s.confirmed
redis.call('HSET', k.subs, id, build(s))
return {0}
