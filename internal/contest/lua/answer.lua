-- answer.lua: record one player's answer to the open question, once, and
-- score it with the points Go worked out (internal/scoring decides them;
-- the script only picks the one that fits the player's streak).
-- KEYS: room, seq, events, players, answers(q), scores, streaks, corrects,
--       dist(q), flush (keys of one room only)
-- ARGV: chan, keep, player id, question index, now ms, the answer record
--       JSON up to its points, points by new streak (comma separated:
--       the i-th, from 0, when the new streak is i, the last for any
--       longer one), correct (0/1), chosen options (comma separated),
--       flush ms, the question's opened_at and deadline the points were
--       worked out for, the rest of the record JSON after its points, the
--       streak rule ('inc', 'keep' or 'reset': Go's pointsByStreak)
-- Returns {1, answered, players, flush, points} (flush 1: the caller
-- schedules a progress update), or {-1} closed, {-2, the answer recorded
-- before} already answered, {-3} not a player, {-4} the question's
-- opened_at or deadline are not those of ARGV (the caller's view is stale:
-- read them again), {-5} the room is gone from Redis.
local r = redis.call('HMGET', KEYS[1], 'phase', 'q', 'paused', 'close_at', 'opened_at', 'deadline')
if not r[1] then return {-5} end
if r[1] ~= 'question' or r[2] ~= ARGV[4] or r[3] == '1' or tonumber(ARGV[5]) > tonumber(r[4]) then
  return {-1}
end
if r[5] ~= ARGV[11] or r[6] ~= ARGV[12] then return {-4} end
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 0 then return {-3} end
local streak = tonumber(redis.call('HGET', KEYS[7], ARGV[3]) or '0') or 0
if ARGV[14] == 'inc' then
  streak = streak + 1
elseif ARGV[14] == 'reset' then
  streak = 0
end
local byStreak = {}
for p in string.gmatch(ARGV[7], '[^,]+') do byStreak[#byStreak + 1] = p end
local pts = byStreak[math.min(streak + 1, #byStreak)]
if redis.call('HSETNX', KEYS[5], ARGV[3], ARGV[6] .. pts .. ARGV[13]) == 0 then
  return {-2, redis.call('HGET', KEYS[5], ARGV[3])}
end
follow(KEYS[5])
pts = tonumber(pts)
if pts > 0 then redis.call('ZINCRBY', KEYS[6], pts, ARGV[3]) end
redis.call('HSET', KEYS[7], ARGV[3], streak)
follow(KEYS[7])
if ARGV[8] == '1' then
  redis.call('HINCRBY', KEYS[8], ARGV[3], 1)
  follow(KEYS[8])
end
for opt in string.gmatch(ARGV[9], '[^,]+') do
  redis.call('HINCRBY', KEYS[9], opt, 1)
end
follow(KEYS[9])
local answered = redis.call('HINCRBY', KEYS[1], 'answered', 1)
local total = redis.call('HLEN', KEYS[4])
local flush = 0
if redis.call('SET', KEYS[10], '1', 'NX', 'PX', ARGV[10]) then flush = 1 end
return {1, answered, total, flush, pts}
