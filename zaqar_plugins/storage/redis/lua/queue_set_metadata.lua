-- KEYS: queues, qmeta. ARGV: name, metadata JSON. Returns 0 if missing.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
