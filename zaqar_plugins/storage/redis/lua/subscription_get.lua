-- KEYS: source keys. ARGV: now, id. Returns its record if it lives.
return live(source(1), ARGV[2], tonumber(ARGV[1])) or false
