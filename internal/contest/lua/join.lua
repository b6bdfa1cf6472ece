-- join.lua: add a player to a room.
-- KEYS: room, seq, events, due, players, nicks, tokens, scores, flush
-- ARGV: chan, keep, nick key (lowercased), token hash, player JSON (with
--       "id":0 placeholder replaced here), now ms, flush ms, flush member,
--       max players, PIN typed
-- Returns the new player id, or -1 room gone (or not this PIN's: the
-- instance's memory of the PIN was stale), -2 locked, -3 started (no late
-- join), -4 nickname taken, -5 room full.
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase or phase == 'finished' then return -1 end
if redis.call('HGET', KEYS[1], 'pin') ~= ARGV[10] then return -1 end
if redis.call('HGET', KEYS[1], 'locked') == '1' then return -2 end
if phase ~= 'lobby' and redis.call('HGET', KEYS[1], 'late') ~= '1' then return -3 end
if redis.call('HEXISTS', KEYS[6], ARGV[3]) == 1 then return -4 end
if redis.call('HLEN', KEYS[5]) >= tonumber(ARGV[9]) then return -5 end
local id = redis.call('HINCRBY', KEYS[1], 'pids', 1)
redis.call('HSET', KEYS[6], ARGV[3], id)
redis.call('HSET', KEYS[7], ARGV[4], id)
redis.call('HSET', KEYS[5], id, (string.gsub(ARGV[5], '"id":0', '"id":' .. id, 1)))
redis.call('ZADD', KEYS[8], 0, id)
for i = 5, 8 do follow(KEYS[i]) end
-- LT: a pending lobby update keeps its time (a stream of joins must not
-- push it later and later).
if redis.call('SET', KEYS[9], '1', 'NX', 'PX', ARGV[7]) then
  redis.call('ZADD', KEYS[4], 'LT', tonumber(ARGV[6]) + tonumber(ARGV[7]), ARGV[8])
end
return id
