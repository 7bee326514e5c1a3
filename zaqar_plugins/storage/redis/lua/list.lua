-- KEYS: queue keys. ARGV: now, marker ('' for none), limit, client id to
-- skip ('' for none), include_claimed, include_delayed ('1'/'0').
-- Returns described messages after the marker, oldest first.
local k = queue(1)
local now = tonumber(ARGV[1])
local after = ARGV[2] == '' and '-inf' or '(' .. ARGV[2]
local limit = tonumber(ARGV[3])
local skip = ARGV[4] == '' and nil or ARGV[4] .. '\n'
local claimed_too = ARGV[5] == '1'
local delayed_too = ARGV[6] == '1'
reap(k, now)
-- Without claimed or delayed messages, the claimable set is exactly the
-- listing: no filtering by state.
local source = (claimed_too or delayed_too) and k.all or k.avail
local out = {}
local batch = math.max(limit * 2, 20)
while #out < limit do
    local ids = redis.call('ZRANGEBYSCORE', source, after, '+inf',
                           'LIMIT', 0, batch)
    for _, id in ipairs(ids) do
        after = '(' .. id
        local m = describe(k, id, now)
        if m and skip and string.sub(m[2], 1, #skip) == skip then
            m = nil
        end
        if m and not claimed_too and m[4] ~= '' then m = nil end
        if m and not delayed_too then
            local visible = score(k.delayed, id)
            if visible and visible > now then m = nil end
        end
        if m then
            out[#out + 1] = m
            if #out == limit then break end
        end
    end
    if #ids < batch then break end
end
return out
