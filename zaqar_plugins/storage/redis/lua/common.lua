-- Helpers every script starts with (scripts.py prepends this file).
-- A queue's keys arrive in KEYS in keys.QUEUE_KEYS order; queue(n)
-- names the n-th queue's keys (the second one is a dead-letter queue).

local QUEUE_SUFFIXES = {'msgs', 'all', 'exp', 'avail', 'delayed',
                        'claimed', 'cid', 'count', 'claims', 'cexp', 'cmsg'}

-- The keys from KEYS[first] on, by suffix.
local function keyset(first, suffixes)
    local k = {}
    for i, suffix in ipairs(suffixes) do
        k[suffix] = KEYS[first + i - 1]
    end
    return k
end

local function queue(first)
    return keyset(first, QUEUE_SUFFIXES)
end

-- Lua's own number-to-string keeps 14 digits: a millisecond of an epoch
-- time. Times that scripts store or return go through this instead
-- (redis.call arguments are converted exactly already).
local function exact(x)
    return string.format('%.17g', x)
end

-- What a script returns, storing nothing, when the caller asked it to
-- check the queue's metadata (the SHA-1 of the document it saw; '' for
-- no check) and that changed: {'changed', the metadata now}, or just
-- {'changed'} when the queue is gone. nil when the script may go on.
local function metadata_changed(qmeta, name, seen)
    if seen == '' then return nil end
    local meta = redis.call('HGET', qmeta, name)
    if not meta then
        return {'changed'}
    elseif redis.sha1hex(meta) ~= seen then
        return {'changed', meta}
    end
    return nil
end

local function score(key, id)
    local s = redis.call('ZSCORE', key, id)
    if s then return tonumber(s) end
    return nil
end

-- Claims that ran out free their messages again, and delays that ended
-- make theirs claimable: each message passes here once per claim or
-- delay, so the cost is spread over the calls that caused it.
local function reap(k, now)
    local due = redis.call('ZRANGEBYSCORE', k.claimed, '-inf', now)
    for _, id in ipairs(due) do
        redis.call('ZREM', k.claimed, id)
        redis.call('ZADD', k.avail, id, id)
    end
    local ready = redis.call('ZRANGEBYSCORE', k.delayed, '-inf', now)
    for _, id in ipairs(ready) do
        redis.call('ZREM', k.delayed, id)
        redis.call('ZADD', k.avail, id, id)
    end
end

-- {id, record, expires, live claim id or '', claim count}, or nil when
-- the message is gone or expired.
local function describe(k, id, now)
    local expires = redis.call('ZSCORE', k.exp, id)
    if not expires or tonumber(expires) <= now then return nil end
    local record = redis.call('HGET', k.msgs, id)
    if not record then return nil end
    local claim = ''
    local until_ = score(k.claimed, id)
    if until_ and until_ > now then
        claim = redis.call('HGET', k.cid, id) or ''
    end
    local count = redis.call('HGET', k.count, id) or 0
    return {id, record, expires, claim, count}
end

-- Forget a message everywhere in its queue.
local function remove(k, id)
    local claim = redis.call('HGET', k.cid, id)
    if claim then
        redis.call('ZREM', k.cmsg, claim .. ':' .. id)
        redis.call('HDEL', k.cid, id)
    end
    redis.call('HDEL', k.msgs, id)
    redis.call('HDEL', k.count, id)
    for _, key in ipairs({k.all, k.exp, k.avail, k.delayed, k.claimed}) do
        redis.call('ZREM', key, id)
    end
end

-- Make a claimed message outlive its claim by the grace period.
local function extend(k, id, keep_until)
    local expires = score(k.exp, id)
    if expires and expires < keep_until then
        redis.call('ZADD', k.exp, keep_until, id)
    end
end

-- Message ids a claim holds now.
local function held(k, claim, now)
    local ids = {}
    local members = redis.call('ZRANGEBYLEX', k.cmsg, '[' .. claim .. ':',
                               '[' .. claim .. ':\255')
    for _, member in ipairs(members) do
        local id = string.sub(member, #claim + 2)
        local until_ = score(k.claimed, id)
        if until_ and until_ > now and
                redis.call('HGET', k.cid, id) == claim then
            ids[#ids + 1] = id
        end
    end
    return ids
end

-- {ttl, grace, created, expires} of a live claim, as stored (strings),
-- or nil.
local function live_claim(k, claim, now)
    local info = redis.call('HGET', k.claims, claim)
    if not info then return nil end
    local ttl, grace, created, expires = string.match(
        info, '^(%S+) (%S+) (%S+) (%S+)$')
    if tonumber(expires) <= now then return nil end
    return {ttl, grace, created, expires}
end

local function claim_record(ttl, grace, created, expires)
    return ttl .. ' ' .. grace .. ' ' .. created .. ' ' .. exact(expires)
end

-- Drop a claim and its membership index (not its messages' state).
local function forget_claim(k, claim)
    local members = redis.call('ZRANGEBYLEX', k.cmsg, '[' .. claim .. ':',
                               '[' .. claim .. ':\255')
    for _, member in ipairs(members) do
        redis.call('ZREM', k.cmsg, member)
    end
    redis.call('HDEL', k.claims, claim)
    redis.call('ZREM', k.cexp, claim)
end
