-- answer.lua: record one player's answer to the open question, once.
-- KEYS: room, seq, events, due, players, answers(q), scores, streaks,
--       corrects, dist(q), flush
-- ARGV: chan, keep, player id, question index, now ms, record JSON, points,
--       correct (0/1), new streak, chosen options (comma separated),
--       flush ms, flush member, round member
-- Returns {1, answered, players}, or {-1} closed, {-2} already answered,
-- {-3} not a player.
local r = redis.call('HMGET', KEYS[1], 'phase', 'q', 'paused', 'close_at')
if r[1] ~= 'question' or r[2] ~= ARGV[4] or r[3] == '1' or tonumber(ARGV[5]) > tonumber(r[4]) then
  return {-1}
end
if redis.call('HEXISTS', KEYS[5], ARGV[3]) == 0 then return {-3} end
if redis.call('HSETNX', KEYS[6], ARGV[3], ARGV[6]) == 0 then return {-2} end
follow(KEYS[6])
local pts = tonumber(ARGV[7])
if pts > 0 then redis.call('ZINCRBY', KEYS[7], pts, ARGV[3]) end
redis.call('HSET', KEYS[8], ARGV[3], ARGV[9])
follow(KEYS[8])
if ARGV[8] == '1' then
  redis.call('HINCRBY', KEYS[9], ARGV[3], 1)
  follow(KEYS[9])
end
for opt in string.gmatch(ARGV[10], '[^,]+') do
  redis.call('HINCRBY', KEYS[10], opt, 1)
end
follow(KEYS[10])
local answered = redis.call('HINCRBY', KEYS[1], 'answered', 1)
local total = redis.call('HLEN', KEYS[5])
if answered >= total then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[13])
end
-- LT: a pending update keeps its time (answers arriving without pause
-- must not push it later and later).
if redis.call('SET', KEYS[11], '1', 'NX', 'PX', ARGV[11]) then
  redis.call('ZADD', KEYS[4], 'LT', tonumber(ARGV[5]) + tonumber(ARGV[11]), ARGV[12])
end
return {1, answered, total}
