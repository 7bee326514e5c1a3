-- KEYS: queues, qmeta. ARGV: marker ('' for none), limit, detailed.
-- Returns names, each followed by its metadata JSON when detailed.
local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]
local names = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0,
                         tonumber(ARGV[2]))
if ARGV[3] ~= '1' then return names end
local out = {}
for _, name in ipairs(names) do
    out[#out + 1] = name
    out[#out + 1] = redis.call('HGET', KEYS[2], name) or '{}'
end
return out
