-- around.lua: a user's place on a board in one round trip.
-- KEYS[1] the campaign's "built" marker, KEYS[2] the board (sorted set);
-- ARGV[1] the member (user id), ARGV[2] k.
-- Returns {-2} when the marker is gone (Redis lost the boards: rebuild),
-- {-1} when the user is not on the board, else {rank (0-based),
-- {member, score, …} from k above to k below}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-2}
end
local r = redis.call('ZREVRANK', KEYS[2], ARGV[1])
if not r then
  return {-1}
end
local k = tonumber(ARGV[2])
local from = r - k
if from < 0 then from = 0 end
return {r, redis.call('ZREVRANGE', KEYS[2], from, r + k, 'WITHSCORES')}
