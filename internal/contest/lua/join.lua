-- join.lua: add a player to a room.
-- KEYS: room, seq, events, due, players, nicks, tokens, scores, flush,
--       devices (hash: device or account key → players joined),
--       team sizes (hash: team → members)
-- ARGV: chan, keep, nick key (lowercased), token hash, player JSON (with
--       "id":0 placeholder replaced here, and "team":-1 when the team is
--       assigned here), now ms, flush ms, flush member, max players, PIN
--       typed, players per device, teams to balance over (comma-separated;
--       "" unless "team":-1), then the device/account keys of the joiner
-- Returns the new player id, or -1 room gone (or not this PIN's: the
-- instance's memory of the PIN was stale), -2 locked, -3 started (no late
-- join), -4 nickname taken, -5 room full, -6 this device or account already
-- has its players in the room.
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase or phase == 'finished' then return -1 end
if redis.call('HGET', KEYS[1], 'pin') ~= ARGV[10] then return -1 end
if redis.call('HGET', KEYS[1], 'locked') == '1' then return -2 end
if phase ~= 'lobby' and redis.call('HGET', KEYS[1], 'late') ~= '1' then return -3 end
if redis.call('HEXISTS', KEYS[6], ARGV[3]) == 1 then return -4 end
if redis.call('HLEN', KEYS[5]) >= tonumber(ARGV[9]) then return -5 end
for i = 13, #ARGV do
  if tonumber(redis.call('HGET', KEYS[10], ARGV[i]) or '0') >= tonumber(ARGV[11]) then return -6 end
end
for i = 13, #ARGV do redis.call('HINCRBY', KEYS[10], ARGV[i], 1) end
local rec = ARGV[5]
if ARGV[12] ~= '' then
  -- Balanced assignment: the team with the fewest members (the first listed
  -- on a tie).
  local best, bestn = nil, nil
  for t in string.gmatch(ARGV[12], '[^,]+') do
    local n = tonumber(redis.call('HGET', KEYS[11], t) or '0')
    if not bestn or n < bestn then best, bestn = t, n end
  end
  rec = string.gsub(rec, '"team":%-1', '"team":' .. best, 1)
end
local team = string.match(rec, '"team":(%d+)')
if team then redis.call('HINCRBY', KEYS[11], team, 1) end
local id = redis.call('HINCRBY', KEYS[1], 'pids', 1)
redis.call('HSET', KEYS[6], ARGV[3], id)
redis.call('HSET', KEYS[7], ARGV[4], id)
redis.call('HSET', KEYS[5], id, (string.gsub(rec, '"id":0', '"id":' .. id, 1)))
redis.call('ZADD', KEYS[8], 0, id)
for i = 5, 8 do follow(KEYS[i]) end
for i = 10, 11 do follow(KEYS[i]) end
-- LT: a pending lobby update keeps its time (a stream of joins must not
-- push it later and later).
if redis.call('SET', KEYS[9], '1', 'NX', 'PX', ARGV[7]) then
  redis.call('ZADD', KEYS[4], 'LT', tonumber(ARGV[6]) + tonumber(ARGV[7]), ARGV[8])
end
return id
