-- KEYS: seq, queue keys, the queue's subscription ids, the project's id
-- key, the project's queue metadata hash; when a fan-out job is asked
-- for, then the queue's subscription
-- records and expiries, and the msgs, all, exp and avail keys of the
-- project's fan-out queue (one that tenants cannot name; a job there is
-- never delayed, and the rest of its keys only change later).
-- Last, when the post is made once, the queue's once key.
-- ARGV: now, the id key to store if none is, the job's destination as
-- JSON ('' for no job), its post (JSON), its TTL, its client id, '1' to
-- notify confirmed subscriptions only, the post's once key ('' for
-- none), the SHA-1 of the queue metadata the caller saw ('' to post
-- without looking), the queue's name, then (ttl, delay, record) per
-- message.
-- Returns {the new numbers in order, how many subscription ids the queue
-- has (expired ones included until collected), the stored id key, the
-- job's number or 0, the job's body or ''}. The job is stored only when
-- it has subscriptions to notify. Returns false, storing nothing, when
-- the once key was recorded before; {'changed', the metadata now} (just
-- {'changed'} if the queue is gone), storing nothing, when the queue's
-- metadata is not what the caller saw.
local FIRST = 11
local changed = metadata_changed(KEYS[#QUEUE_SUFFIXES + 4], ARGV[10],
                                 ARGV[9])
if changed then return changed end
if ARGV[8] ~= '' and redis.call('SADD', KEYS[#KEYS], ARGV[8]) == 0 then
    return false
end
local seq = KEYS[1]
local k = queue(2)
local subids = KEYS[#QUEUE_SUFFIXES + 2]
local idkey = KEYS[#QUEUE_SUFFIXES + 3]
local now = tonumber(ARGV[1])
redis.call('SET', idkey, ARGV[2], 'NX')

local function store(q, id, ttl, delay, record)
    redis.call('HSET', q.msgs, id, record)
    redis.call('ZADD', q.all, id, id)
    redis.call('ZADD', q.exp, now + ttl, id)
    if delay > 0 then
        redis.call('ZADD', q.delayed, now + delay, id)
    else
        redis.call('ZADD', q.avail, id, id)
    end
end

-- The messages, numbered in order, stored a batch at a time: one command
-- per key and batch, not five per message (which cost Redis twice the CPU
-- of a ten-message post). Batches bound the arguments of one command
-- (unpack's limit is some thousands).
local ids = {}
local count = (#ARGV - FIRST + 1) / 3
local number = redis.call('INCRBY', seq, count) - count
local BATCH = 500
for from = FIRST, #ARGV, 3 * BATCH do
    local records, all, exp, avail, delayed = {}, {}, {}, {}, {}
    for i = from, math.min(#ARGV, from + 3 * BATCH - 1), 3 do
        number = number + 1
        local id = tostring(number)
        ids[#ids + 1] = id
        records[#records + 1] = id
        records[#records + 1] = ARGV[i + 2]
        all[#all + 1] = id
        all[#all + 1] = id
        exp[#exp + 1] = now + tonumber(ARGV[i])
        exp[#exp + 1] = id
        local delay = tonumber(ARGV[i + 1])
        local into = delay > 0 and delayed or avail
        into[#into + 1] = delay > 0 and now + delay or id
        into[#into + 1] = id
    end
    redis.call('HSET', k.msgs, unpack(records))
    redis.call('ZADD', k.all, unpack(all))
    redis.call('ZADD', k.exp, unpack(exp))
    if #avail > 0 then redis.call('ZADD', k.avail, unpack(avail)) end
    if #delayed > 0 then redis.call('ZADD', k.delayed, unpack(delayed)) end
end
local subscribed = redis.call('ZCARD', subids)

-- The live (and, if asked, confirmed) subscriptions of this moment.
local function targets()
    local subs = KEYS[#QUEUE_SUFFIXES + 5]
    local subexp = KEYS[#QUEUE_SUFFIXES + 6]
    local found = {}
    for _, sid in ipairs(redis.call('ZRANGE', subids, 0, -1)) do
        local expires = redis.call('ZSCORE', subexp, sid)
        local record = redis.call('HGET', subs, sid)
        if expires and tonumber(expires) > now and record and
                (ARGV[7] ~= '1' or
                 string.match(record, '^%S+ %S+ ([01])') == '1') then
            found[#found + 1] = sid
        end
    end
    return found
end

local job, body = 0, ''
if ARGV[3] ~= '' and subscribed > 0 then
    local notified = targets()
    if #notified > 0 then
        -- The job's body, from the records' bodies: no JSON is parsed.
        local items = {}
        for i = FIRST, #ARGV, 3 do
            local record = ARGV[i + 2]
            local first = string.find(
                record, ' ', string.find(record, '\n', 1, true), true)
            local second = string.find(record, ' ', first + 1, true)
            items[#items + 1] = '{"body": ' .. string.sub(record, second + 1)
                .. ', "ttl": ' .. ARGV[i] .. ', "delay": ' .. ARGV[i + 1]
                .. '}'
        end
        body = '{"what": "fan_out", "to": ' .. ARGV[3]
            .. ', "post": ' .. ARGV[4] .. ', "subscriptions": '
            .. cjson.encode(notified) .. ', "messages": ['
            .. table.concat(items, ', ') .. ']}'
        job = redis.call('INCR', seq)
        local first = #QUEUE_SUFFIXES + 7
        store({msgs = KEYS[first], all = KEYS[first + 1],
               exp = KEYS[first + 2], avail = KEYS[first + 3]},
              tostring(job), tonumber(ARGV[5]), 0,
              ARGV[6] .. '\n' .. ARGV[1] .. ' - ' .. body)
    end
end
return {ids, subscribed, redis.call('GET', idkey), job, body}
