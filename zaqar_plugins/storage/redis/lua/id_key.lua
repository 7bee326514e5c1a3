-- KEYS: a project's id key, its message counter. ARGV: the key to store
-- if none is and the project ever had messages (a release without id keys
-- stored them). Returns the stored key, or nil: the project never had
-- messages, and storing keys for every project name anyone asks about
-- would only fill memory (its first post stores one).
if redis.call('EXISTS', KEYS[1]) == 0 and
        redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('SET', KEYS[1], ARGV[1])
end
return redis.call('GET', KEYS[1])
