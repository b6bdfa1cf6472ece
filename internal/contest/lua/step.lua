-- step.lua: one state transition of a room, atomically.
-- KEYS: room, seq, events (keys of one room only: the due set is the
-- caller's, see Service.step)
-- ARGV: chan, keep, expected ver ('' = no check), event type ('' = none),
--       event data, then field/value pairs to set on the room.
-- Returns {seq of the event (0 without event), the room's seq, the room
-- hash as field, value, …} (what the caller writes to Postgres), or {-1}
-- when ver did not match, {-2} when the room is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2} end
if ARGV[3] ~= '' then
  if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[3] then return {-1} end
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
end
redis.call('HINCRBY', KEYS[1], 'rev', 1)
if #ARGV > 5 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
end
local n = 0
if ARGV[4] ~= '' then n = emit(ARGV[4], ARGV[5]) end
return {n, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HGETALL', KEYS[1])}
