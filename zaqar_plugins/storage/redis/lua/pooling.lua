-- Pools, flavors and the queue catalogue (layout in keys.py). KEYS: the
-- pooling keys in keys.POOLING_KEYS order. ARGV: an operation's name,
-- then its arguments; each operation is one function below.

local K = {}
for i, suffix in ipairs({'pools', 'uri', 'weight', 'flavor', 'options',
                         'uris', 'tagged', 'flavors', 'owned',
                         'catalogue', 'placed'}) do
    K[suffix] = KEYS[i]
end

-- Two strings as one member or field; pairs of one first string share
-- a prefix and sort by the second.
local function pair(a, b)
    return #a .. ':' .. a .. b
end

-- The second strings of the pairs in zset key whose first is a, after
-- the second string `after` ('' for none), up to limit (-1: all).
local function seconds(key, a, after, limit)
    local prefix = pair(a, '')
    local start = '[' .. prefix
    if after ~= '' then start = '(' .. prefix .. after end
    local found = redis.call('ZRANGEBYLEX', key, start,
                             '[' .. prefix .. '\255', 'LIMIT', 0, limit)
    for i, member in ipairs(found) do
        found[i] = string.sub(member, #prefix + 1)
    end
    return found
end

local function exists(name)
    return redis.call('ZSCORE', K.pools, name) ~= false
end

-- Appends {name, uri, weight, flavor or '', options} of pool name.
local function describe(out, name)
    out[#out + 1] = name
    out[#out + 1] = redis.call('HGET', K.uri, name)
    out[#out + 1] = redis.call('HGET', K.weight, name)
    out[#out + 1] = redis.call('HGET', K.flavor, name) or ''
    out[#out + 1] = redis.call('HGET', K.options, name)
    return out
end

local function describe_all(names)
    local out = {}
    for _, name in ipairs(names) do describe(out, name) end
    return out
end

local function queues_of(pool)
    local prefix = pair(pool, '')
    return redis.call('ZLEXCOUNT', K.placed, '[' .. prefix,
                      '[' .. prefix .. '\255')
end

-- Tag pool name with flavor ('': untag it).
local function tag(name, flavor)
    local old = redis.call('HGET', K.flavor, name) or ''
    redis.call('ZREM', K.tagged, pair(old, name))
    redis.call('ZADD', K.tagged, 0, pair(flavor, name))
    if flavor == '' then
        redis.call('HDEL', K.flavor, name)
    else
        redis.call('HSET', K.flavor, name, flavor)
    end
end

local ops = {}

-- name, create (1|0), then field, value... among uri, weight, flavor,
-- options. {0}: no such pool (and not create); {1, created 1|0, pool};
-- {2, other pool}: URI taken; {3, queues}: in use, the URI may not
-- change.
function ops.pool_write(name, create, ...)
    local known = exists(name)
    if not known and create ~= '1' then return {0} end
    local new = {}
    local fields = {...}
    for i = 1, #fields, 2 do new[fields[i]] = fields[i + 1] end
    if new.uri then
        local other = redis.call('HGET', K.uris, new.uri)
        if other and other ~= name then return {2, other} end
        local old = redis.call('HGET', K.uri, name)
        if old and old ~= new.uri then
            local queues = queues_of(name)
            if queues > 0 then return {3, queues} end
            redis.call('HDEL', K.uris, old)
        end
        redis.call('HSET', K.uris, new.uri, name)
        redis.call('HSET', K.uri, name, new.uri)
    end
    if new.weight then redis.call('HSET', K.weight, name, new.weight) end
    if new.options then
        redis.call('HSET', K.options, name, new.options)
    end
    if new.flavor then tag(name, new.flavor) end
    redis.call('ZADD', K.pools, 0, name)
    return describe({1, known and 0 or 1}, name)
end

-- name. {} when missing, else the pool.
function ops.pool_get(name)
    if not exists(name) then return {} end
    return describe({}, name)
end

-- marker ('' for none), limit. Pools, one after the other.
function ops.pool_list(marker, limit)
    local start = marker == '' and '-' or '(' .. marker
    return describe_all(redis.call('ZRANGEBYLEX', K.pools, start, '+',
                                   'LIMIT', 0, tonumber(limit)))
end

-- flavor ('' for none). Its pools, one after the other.
function ops.pool_with_flavor(flavor)
    return describe_all(seconds(K.tagged, flavor, '', -1))
end

-- name. {0}: no such pool; {1}: deleted; {3, queues}: in use.
function ops.pool_delete(name)
    if not exists(name) then return {0} end
    local queues = queues_of(name)
    if queues > 0 then return {3, queues} end
    local flavor = redis.call('HGET', K.flavor, name) or ''
    redis.call('HDEL', K.uris, redis.call('HGET', K.uri, name))
    for _, key in ipairs({K.uri, K.weight, K.flavor, K.options}) do
        redis.call('HDEL', key, name)
    end
    redis.call('ZREM', K.tagged, pair(flavor, name))
    redis.call('ZREM', K.pools, name)
    return {1}
end

-- project, name, create (1|0), then pool names (distinct). {0}: the
-- project has no such flavor (and not create); {1}: another project has
-- it; {2, missing pools...}; {3, created 1|0}.
function ops.flavor_write(project, name, create, ...)
    local owner = redis.call('HGET', K.flavors, name)
    if create ~= '1' and owner ~= project then return {0} end
    if owner and owner ~= project then return {1} end
    local wanted, missing = {}, {2}
    for _, pool in ipairs({...}) do
        if exists(pool) then
            wanted[pool] = true
        else
            missing[#missing + 1] = pool
        end
    end
    if #missing > 1 then return missing end
    for _, pool in ipairs(seconds(K.tagged, name, '', -1)) do
        if not wanted[pool] then tag(pool, '') end
    end
    for _, pool in ipairs({...}) do tag(pool, name) end
    if not owner then
        redis.call('HSET', K.flavors, name, project)
        redis.call('ZADD', K.owned, 0, pair(project, name))
    end
    return {3, owner and 0 or 1}
end

-- Appends name, the number of its pools, and their names.
local function members(out, name)
    local pools = seconds(K.tagged, name, '', -1)
    out[#out + 1] = name
    out[#out + 1] = #pools
    for _, pool in ipairs(pools) do out[#out + 1] = pool end
    return out
end

-- project, name. {} when the project has no such flavor, else the
-- flavor.
function ops.flavor_get(project, name)
    if redis.call('HGET', K.flavors, name) ~= project then return {} end
    return members({}, name)
end

-- project, marker ('' for none), limit. Flavors, one after the other.
function ops.flavor_list(project, marker, limit)
    local out = {}
    for _, name in ipairs(seconds(K.owned, project, marker,
                                  tonumber(limit))) do
        members(out, name)
    end
    return out
end

-- project, name. 1 when deleted, 0 when the project has no such flavor.
function ops.flavor_delete(project, name)
    if redis.call('HGET', K.flavors, name) ~= project then return 0 end
    for _, pool in ipairs(seconds(K.tagged, name, '', -1)) do
        tag(pool, '')
    end
    redis.call('HDEL', K.flavors, name)
    redis.call('ZREM', K.owned, pair(project, name))
    return 1
end

-- project, queue, pool. The pool the queue is mapped to, or false when
-- it was unmapped and the pool does not exist.
function ops.place(project, queue, pool)
    local field = pair(project, queue)
    local mapped = redis.call('HGET', K.catalogue, field)
    if mapped then return mapped end
    if not exists(pool) then return false end
    redis.call('HSET', K.catalogue, field, pool)
    redis.call('ZADD', K.placed, 0, pair(pool, field))
    return pool
end

-- project, queue. The pool, or false.
function ops.lookup(project, queue)
    return redis.call('HGET', K.catalogue, pair(project, queue))
end

-- project, queue, from, to. 1 when moved, 0 when not mapped to from, -1
-- when to does not exist.
function ops.move(project, queue, from, to)
    if not exists(to) then return -1 end
    local field = pair(project, queue)
    if redis.call('HGET', K.catalogue, field) ~= from then return 0 end
    redis.call('HSET', K.catalogue, field, to)
    redis.call('ZREM', K.placed, pair(from, field))
    redis.call('ZADD', K.placed, 0, pair(to, field))
    return 1
end

-- project, queue.
function ops.remove(project, queue)
    local field = pair(project, queue)
    local mapped = redis.call('HGET', K.catalogue, field)
    if mapped then
        redis.call('HDEL', K.catalogue, field)
        redis.call('ZREM', K.placed, pair(mapped, field))
    end
    return 0
end

-- pool. How many queues are mapped to it.
function ops.count(pool)
    return queues_of(pool)
end

-- pool, after ('' or a pair of project and queue), limit. The pairs
-- mapped to pool, after `after`, in pair order.
function ops.placed(pool, after, limit)
    return seconds(K.placed, pool, after, tonumber(limit))
end

return ops[ARGV[1]](unpack(ARGV, 2))
