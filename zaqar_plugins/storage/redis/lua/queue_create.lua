-- KEYS: queues, qmeta. ARGV: name, metadata JSON. Returns 1 if created.
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return 1
