-- swap.lua: put a rebuild's boards in place, only if it still holds the
-- lock (the fence: a rebuilder that lost its lock changes nothing).
-- KEYS[1] the lock, KEYS[2] the touched set, KEYS[3] the "built" marker,
-- KEYS[4 .. 3+n] the family's current keys (deleted), then pairs
-- (scratch key, board key);
-- ARGV[1] the token, ARGV[2] the family's channel ("": none), ARGV[3] n,
-- ARGV[4] the marker's TTL (s, "0": none), ARGV[5 ..] per pair the
-- board's TTL (s, "0": none).
-- Returns {0} when the lock is lost, else {1, users}: the users whose
-- standings were written while the rebuild ran (the touched set, now
-- emptied). Their writes went to the boards just deleted, so the caller
-- records them again. The lock is released.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0}
end
local touched = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
local n = tonumber(ARGV[3])
for i = 4, 3 + n do
  redis.call('UNLINK', KEYS[i])
end
local p = 4
for i = 4 + n, #KEYS - 1, 2 do
  p = p + 1
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    if ARGV[p] ~= '0' then
      redis.call('EXPIRE', KEYS[i + 1], ARGV[p])
    else
      redis.call('PERSIST', KEYS[i + 1])
    end
  end
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
else
  redis.call('SET', KEYS[3], '1')
end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'changed')
end
return {1, touched}
