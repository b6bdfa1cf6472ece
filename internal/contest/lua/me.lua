-- me.lua: one player's standing in one round trip.
-- KEYS: scores, streaks[, answers(q)]; ARGV: player id
-- Returns {score ('' when not ranked), rank (0: not ranked; ties share the
-- rank of the first with the score), streak, players, answer JSON or ''}.
local sc = redis.call('ZSCORE', KEYS[1], ARGV[1])
local rank = 0
if sc then rank = redis.call('ZCOUNT', KEYS[1], '(' .. sc, '+inf') + 1 end
local ans = ''
if KEYS[3] then ans = redis.call('HGET', KEYS[3], ARGV[1]) or '' end
return {sc or '', rank, redis.call('HGET', KEYS[2], ARGV[1]) or '0', redis.call('ZCARD', KEYS[1]), ans}
