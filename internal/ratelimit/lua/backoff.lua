-- Growing backoff of one key (ratelimit.Backoff), atomically.
-- KEYS[1]: a hash {n = attempts counted, until = ms before which attempts are refused}
-- ARGV: op ("begin" | "fail"), now (ms), free, base (ms), max (ms), forget (s)
-- begin: refused while now < until (returns the ms to wait, counts nothing);
--        otherwise counts the attempt (before its outcome is known, so that
--        parallel attempts cannot slip past the count) and, from the
--        free-th attempt on, closes the door for base * 2^(n - free) ms,
--        at most max; returns 0.
-- fail:  the attempt counted by begin failed: the wait runs from now.
local now, free, base, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function delay(n)
  if n < free then return 0 end
  local e = n - free
  if e > 40 then return max end
  local d = base * 2 ^ e
  if d > max then return max end
  return d
end
local n
if ARGV[1] == 'begin' then
  local untl = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
  if now < untl then
    return untl - now
  end
  n = redis.call('HINCRBY', KEYS[1], 'n', 1)
else
  n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
  if n == 0 then
    n = redis.call('HINCRBY', KEYS[1], 'n', 1)
  end
end
local d = delay(n)
if d > 0 then
  redis.call('HSET', KEYS[1], 'until', now + d)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return 0
