-- KEYS: every key of a queue (or of a source's subscriptions). Removes
-- them all; UNLINK frees big queues' memory off Redis's main thread.
for _, key in ipairs(KEYS) do redis.call('UNLINK', key) end
return 0
