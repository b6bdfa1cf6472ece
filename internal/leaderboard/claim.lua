-- claim.lua: take the one rebuild of a family of boards (a campaign's, a
-- week's).
-- KEYS[1] the "built" marker, KEYS[2] the lock, KEYS[3] the fence counter;
-- ARGV[1] a random suffix, ARGV[2] the lock's TTL (ms), ARGV[3] "1" to
-- rebuild even when the boards are built (`kepu leaderboard rebuild`),
-- ARGV[4] the fence counter's TTL (ms, "0": none).
-- Returns {1} when the boards are built (nothing to do), {0} when another
-- rebuild holds the lock, {2, token} when the caller now holds it: token is
-- the next fencing number and the suffix ("17-3f9a…"), unique even after
-- Redis lost the counter.
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return {1}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {0}
end
local token = redis.call('INCR', KEYS[3]) .. '-' .. ARGV[1]
if ARGV[4] ~= '0' then
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
redis.call('SET', KEYS[2], token, 'PX', ARGV[2])
return {2, token}
