-- Helpers every subscription_* script starts with (scripts.py prepends
-- this file, after common.lua). A source's keys arrive in KEYS in keys.SUBSCRIPTION_KEYS
-- order; source(n) names them.

local SOURCE_SUFFIXES = {'subs', 'subids', 'subexp', 'subscribers'}

local function source(first)
    return keyset(first, SOURCE_SUFFIXES)
end

-- A record is "<ttl> <created> <confirmed 0|1>\n<options JSON>\n
-- <subscriber>": JSON holds no raw newline, and the subscriber comes last
-- so that it may hold anything. Fields stay strings: created was
-- formatted exactly by Python, and is only ever copied.
local function parse(record)
    local ttl, created, confirmed, options, subscriber = string.match(
        record, '^(%S+) (%S+) ([01])\n([^\n]*)\n(.*)$')
    return {ttl = ttl, created = created, confirmed = confirmed,
            options = options, subscriber = subscriber}
end

local function build(s)
    return s.ttl .. ' ' .. s.created .. ' ' .. s.confirmed .. '\n' ..
        s.options .. '\n' .. s.subscriber
end

-- The record of a live subscription, or nil when it is gone or expired.
local function live(k, id, now)
    local expires = redis.call('ZSCORE', k.subexp, id)
    if not expires or tonumber(expires) <= now then return nil end
    return redis.call('HGET', k.subs, id) or nil
end

-- Free a subscriber, unless another subscription holds it by now.
local function release(k, subscriber, id)
    if redis.call('HGET', k.subscribers, subscriber) == id then
        redis.call('HDEL', k.subscribers, subscriber)
    end
end

-- Forget a subscription, live or expired, everywhere in its source.
local function forget(k, id)
    local record = redis.call('HGET', k.subs, id)
    if record then
        release(k, parse(record).subscriber, id)
        redis.call('HDEL', k.subs, id)
    end
    redis.call('ZREM', k.subids, id)
    redis.call('ZREM', k.subexp, id)
end

-- Give the subscriber to subscription id. Returns nil when done, or the
-- id of the live subscription that holds it (then nothing changed). An
-- expired holder is forgotten: it may be replaced.
local function take(k, subscriber, id, now)
    local holder = redis.call('HGET', k.subscribers, subscriber)
    if holder and holder ~= id then
        if live(k, holder, now) then return holder end
        forget(k, holder)
    end
    redis.call('HSET', k.subscribers, subscriber, id)
    return nil
end
