-- KEYS: queue keys, then the dead-letter queue's keys (or the queue's
-- again when there is none), the project's queue metadata hash. ARGV:
-- now, claim id, ttl, grace, limit, max claim count (-1: no dead-letter
-- queue), dead-letter TTL (0: keep), the SHA-1 of the queue metadata the
-- caller saw ('' to claim without looking), the queue's name.
-- Returns {moved, described messages...}, or what metadata_changed does.
local changed = metadata_changed(KEYS[2 * #QUEUE_SUFFIXES + 1], ARGV[9],
                                 ARGV[8])
if changed then return changed end
local k = queue(1)
local dead = queue(1 + #QUEUE_SUFFIXES)
local now = tonumber(ARGV[1])
local claim = ARGV[2]
local ttl = tonumber(ARGV[3])
local grace = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local max_count = tonumber(ARGV[6])
local dead_ttl = tonumber(ARGV[7])
local expires = now + ttl
reap(k, now)

-- Move an exhausted message to the dead-letter queue: same id, free
-- there, claim count reset.
local function move(id)
    local record = redis.call('HGET', k.msgs, id)
    local lives = score(k.exp, id)
    remove(k, id)
    if dead_ttl > 0 then lives = now + dead_ttl end
    redis.call('HSET', dead.msgs, id, record)
    redis.call('ZADD', dead.all, id, id)
    redis.call('ZADD', dead.exp, lives, id)
    redis.call('ZADD', dead.avail, id, id)
end

local moved = 0
local taken = {}
while #taken < limit do
    -- Everything popped leaves the claimable set: taken, moved, or
    -- expired (its data stays for the GC).
    local popped = redis.call('ZPOPMIN', k.avail, limit - #taken)
    if #popped == 0 then break end
    for i = 1, #popped, 2 do
        local id = popped[i]
        local lives = score(k.exp, id)
        if lives and lives > now then
            local count = tonumber(redis.call('HGET', k.count, id) or 0)
            if max_count >= 0 and count >= max_count then
                move(id)
                moved = moved + 1
            else
                taken[#taken + 1] = id
            end
        end
    end
end
local out = {moved}
if #taken == 0 then return out end
redis.call('HSET', k.claims, claim,
           claim_record(ARGV[3], ARGV[4], ARGV[1], expires))
redis.call('ZADD', k.cexp, expires, claim)
for _, id in ipairs(taken) do
    redis.call('ZADD', k.claimed, expires, id)
    local previous = redis.call('HGET', k.cid, id)
    if previous then redis.call('ZREM', k.cmsg, previous .. ':' .. id) end
    redis.call('HSET', k.cid, id, claim)
    redis.call('ZADD', k.cmsg, 0, claim .. ':' .. id)
    if max_count >= 0 then
        -- Counting only matters where a dead-letter queue reads it.
        redis.call('HINCRBY', k.count, id, 1)
    end
    extend(k, id, expires + grace)
    out[#out + 1] = describe(k, id, now)
end
return out
