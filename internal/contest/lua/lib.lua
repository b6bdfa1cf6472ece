-- lib.lua is prepended to every contest script. Convention: KEYS[1] is the
-- room hash, KEYS[2] its seq counter, KEYS[3] its event list; ARGV[1] is the
-- room's pub/sub channel and ARGV[2] how many events the list keeps.

-- emit appends one event to the room's stream: the next seq (INCR), the
-- room's epoch, the type and the JSON data; keeps the last N in the list
-- and publishes it. Returns the seq.
local function emit(etype, data)
  local seq = redis.call('INCR', KEYS[2])
  local epoch = redis.call('HGET', KEYS[1], 'epoch') or '0'
  local env = '{"seq":' .. seq .. ',"epoch":' .. epoch .. ',"type":"' .. etype .. '","data":' .. data .. '}'
  redis.call('RPUSH', KEYS[3], env)
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
  redis.call('PUBLISH', ARGV[1], env)
  return seq
end

-- follow gives key the room hash's remaining lifetime.
local function follow(key)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
