-- swap.lua: put a rebuild's boards in place, only if it still holds the
-- lock (the fence: a rebuilder that lost its lock changes nothing).
-- KEYS[1] the lock, KEYS[2] the touched set, KEYS[3] the "built" marker,
-- KEYS[4 .. 3+n] the campaign's current keys (deleted), then pairs
-- (scratch key, board key);
-- ARGV[1] the token, ARGV[2] the campaign's channel, ARGV[3] n,
-- ARGV[4] the TTL (s) of today boards, ARGV[5 ..] per pair "1" when the
-- board is a today board.
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
    if ARGV[p] == '1' then
      redis.call('EXPIRE', KEYS[i + 1], ARGV[4])
    else
      redis.call('PERSIST', KEYS[i + 1])
    end
  end
end
redis.call('SET', KEYS[3], '1')
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], 'changed')
return {1, touched}
