-- KEYS: queue keys. ARGV: now, id, '1' and the claim id given, or '0'.
-- Returns 0 (deleted or nothing to delete), 1 (claimed, no claim id
-- given), 2 (claim id given, not claimed) or 3 (claimed by another).
local k = queue(1)
local now = tonumber(ARGV[1])
local id = ARGV[2]
local claim = ARGV[3] == '1' and ARGV[4] or nil
local expires = score(k.exp, id)
if not expires or expires <= now then return 0 end
local until_ = score(k.claimed, id)
local claimed = until_ ~= nil and until_ > now
if not claim then
    if claimed then return 1 end
elseif not claimed then
    return 2
elseif redis.call('HGET', k.cid, id) ~= claim then
    return 3
end
remove(k, id)
return 0
