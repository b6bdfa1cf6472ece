-- unlock.lua: release a lock (SET NX PX) only if the caller still holds it.
-- KEYS: lock; ARGV: the holder's token. Returns 1 released, 0 not held.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
