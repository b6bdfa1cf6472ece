-- lobby.lua: the lobby list without reading every player: the player count
-- and the newest players (ids are given in order by HINCRBY pids; a removed
-- player leaves a hole).
-- KEYS: players, room; ARGV: how many players to list
-- Returns {count, {player JSON, … newest first}}.
local n = redis.call('HLEN', KEYS[1])
local id = tonumber(redis.call('HGET', KEYS[2], 'pids') or '0')
local want = math.min(n, tonumber(ARGV[1]))
local out = {}
while #out < want and id >= 1 do
  local v = redis.call('HGET', KEYS[1], id)
  if v then out[#out + 1] = v end
  id = id - 1
end
return {n, out}
