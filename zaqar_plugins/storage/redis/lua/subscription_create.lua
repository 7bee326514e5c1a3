-- KEYS: source keys. ARGV: now, id, ttl, subscriber, options JSON.
-- Returns '' when created, else the id of the live subscription that
-- already holds the subscriber (then nothing changed).
local k = source(1)
local now = tonumber(ARGV[1])
local id = ARGV[2]
local holder = take(k, ARGV[4], id, now)
if holder then return holder end
redis.call('HSET', k.subs, id, build({
    ttl = ARGV[3], created = ARGV[1], confirmed = '0', options = ARGV[5],
    subscriber = ARGV[4]}))
redis.call('ZADD', k.subids, 0, id)
redis.call('ZADD', k.subexp, now + tonumber(ARGV[3]), id)
return ''
