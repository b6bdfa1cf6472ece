-- claim.lua: take a due item for a while (a lease). Exactly one caller
-- gets 1 for an item that is due; if the caller dies, the lease ends and
-- another instance's ticker claims it again.
-- KEYS: due; ARGV: member, now ms, lease ms
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
  return 1
end
return 0
