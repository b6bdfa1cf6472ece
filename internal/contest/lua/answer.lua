-- answer.lua: record one player's answer to the open question, once.
-- KEYS: room, seq, events, players, answers(q), scores, streaks, corrects,
--       dist(q), flush (keys of one room only)
-- ARGV: chan, keep, player id, question index, now ms, record JSON, points,
--       correct (0/1), new streak, chosen options (comma separated),
--       flush ms
-- Returns {1, answered, players, flush} (flush 1: the caller schedules a
-- progress update), or {-1} closed, {-2, the answer recorded before}
-- already answered, {-3} not a player.
local r = redis.call('HMGET', KEYS[1], 'phase', 'q', 'paused', 'close_at')
if r[1] ~= 'question' or r[2] ~= ARGV[4] or r[3] == '1' or tonumber(ARGV[5]) > tonumber(r[4]) then
  return {-1}
end
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 0 then return {-3} end
if redis.call('HSETNX', KEYS[5], ARGV[3], ARGV[6]) == 0 then
  return {-2, redis.call('HGET', KEYS[5], ARGV[3])}
end
follow(KEYS[5])
local pts = tonumber(ARGV[7])
if pts > 0 then redis.call('ZINCRBY', KEYS[6], pts, ARGV[3]) end
redis.call('HSET', KEYS[7], ARGV[3], ARGV[9])
follow(KEYS[7])
if ARGV[8] == '1' then
  redis.call('HINCRBY', KEYS[8], ARGV[3], 1)
  follow(KEYS[8])
end
for opt in string.gmatch(ARGV[10], '[^,]+') do
  redis.call('HINCRBY', KEYS[9], opt, 1)
end
follow(KEYS[9])
local answered = redis.call('HINCRBY', KEYS[1], 'answered', 1)
local total = redis.call('HLEN', KEYS[4])
local flush = 0
if redis.call('SET', KEYS[10], '1', 'NX', 'PX', ARGV[11]) then flush = 1 end
return {1, answered, total, flush}
