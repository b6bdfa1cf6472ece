-- player.lua: the player holding a token, in one round trip.
-- KEYS: tokens, players, room, kicked; ARGV: SHA-256 of the token
-- Returns the player JSON, 0 for an unknown token, -1 when the room is gone,
-- -2 for the token of a player the host removed.
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then
  if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
  if redis.call('HEXISTS', KEYS[4], 't:' .. ARGV[1]) == 1 then return -2 end
  return 0
end
return redis.call('HGET', KEYS[2], id) or 0
