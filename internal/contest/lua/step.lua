-- step.lua: one state transition of a room, atomically.
-- KEYS: room, seq, events, due
-- ARGV: chan, keep, expected ver ('' = no check), due member, due score
--       ('' = leave, '-' = remove), event type ('' = none), event data,
--       then field/value pairs to set on the room.
-- Returns the event's seq (0 without event), -1 when ver did not match,
-- -2 when the room is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
if ARGV[3] ~= '' then
  if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[3] then return -1 end
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
end
if #ARGV > 7 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 8))
end
if ARGV[5] == '-' then
  redis.call('ZREM', KEYS[4], ARGV[4])
elseif ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
end
if ARGV[6] ~= '' then return emit(ARGV[6], ARGV[7]) end
return 0
