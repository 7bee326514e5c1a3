-- KEYS: queue keys. Removes every message and claim of the queue; UNLINK
-- frees big queues' memory off Redis's main thread.
for _, key in ipairs(KEYS) do redis.call('UNLINK', key) end
return 0
