-- record.lua: one user's lines on a family's boards (a campaign's, a
-- week's), in one step.
-- KEYS[1] the "built" marker, KEYS[2] the rebuild lock, KEYS[3] the
-- touched set, KEYS[4 ..] the boards;
-- ARGV[1] the member (user id), ARGV[2] "gt" under the best rule (ZADD GT:
-- never lower a standing), ARGV[3] the family's channel ("": none), ARGV[4] the
-- touched set's TTL (s), then per board its score and TTL (s, 0: none).
-- While a rebuild holds the lock the user joins the touched set: the
-- rebuild's swap replaces these boards and then records the user again
-- from Postgres, so a finish recorded during a rebuild is never lost.
-- Returns 1 when the boards are built (the marker exists), else 0.
local gt = ARGV[2] == 'gt'
for i = 4, #KEYS do
  local a = 5 + 2 * (i - 4)
  if gt then
    redis.call('ZADD', KEYS[i], 'GT', ARGV[a], ARGV[1])
  else
    redis.call('ZADD', KEYS[i], ARGV[a], ARGV[1])
  end
  if ARGV[a + 1] ~= '0' then
    redis.call('EXPIRE', KEYS[i], ARGV[a + 1])
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], 'changed')
end
return redis.call('EXISTS', KEYS[1])
