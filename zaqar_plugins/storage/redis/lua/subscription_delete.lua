-- KEYS: source keys. ARGV: id. Deletes it, live or expired.
forget(source(1), ARGV[1])
return 0
