-- KEYS: queue keys. ARGV: now, number of ids n, ids..., then claim ids
-- ('-' alone when none were given). Deletes nothing and returns the
-- first id held by a live claim not among the claim ids; else deletes
-- them all and returns ''.
local k = queue(1)
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if ARGV[3 + n] ~= '-' then
    local allowed = {}
    for i = 3 + n, #ARGV do allowed[ARGV[i]] = true end
    for i = 3, 2 + n do
        local id = ARGV[i]
        local until_ = score(k.claimed, id)
        if until_ and until_ > now and
                not allowed[redis.call('HGET', k.cid, id) or ''] then
            return id
        end
    end
end
for i = 3, 2 + n do remove(k, ARGV[i]) end
return ''
