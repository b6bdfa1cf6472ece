-- join.lua: add a player to a room.
-- KEYS: room, seq, events, players, nicks, tokens, scores, flush,
--       devices (hash: device or account key → players joined),
--       team sizes (hash: team → members),
--       kicked (hash: "n:"nick key / device / account key → removed player)
--       (keys of one room only)
-- ARGV: chan, keep, nick key (lowercased), token hash, player JSON (with
--       "id":0 placeholder replaced here, and "team":-1 when the team is
--       assigned here), flush ms, max players, PIN
--       typed, players per device, teams to balance over (comma-separated;
--       "" unless "team":-1), then the device/account keys of the joiner
-- Returns {the new player id, the room's epoch, the team (0: none), flush
-- (1: the caller schedules a lobby update), the first question the player
-- can answer (0 in the lobby; the open question; else the next)}, or {-1} room gone (or not
-- this PIN's: the instance's memory of the PIN was stale), {-2} locked,
-- {-3} started (no late join), {-4} nickname taken, {-5} room full, {-6}
-- this device or account already has its players in the room, {-7} the
-- host removed this nickname, device or account from the room.
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase or phase == 'finished' then return {-1} end
if redis.call('HGET', KEYS[1], 'pin') ~= ARGV[8] then return {-1} end
if redis.call('HGET', KEYS[1], 'locked') == '1' then return {-2} end
if phase ~= 'lobby' and redis.call('HGET', KEYS[1], 'late') ~= '1' then return {-3} end
if redis.call('HEXISTS', KEYS[11], 'n:' .. ARGV[3]) == 1 then return {-7} end
for i = 11, #ARGV do
  if redis.call('HEXISTS', KEYS[11], ARGV[i]) == 1 then return {-7} end
end
if redis.call('HEXISTS', KEYS[5], ARGV[3]) == 1 then return {-4} end
if redis.call('HLEN', KEYS[4]) >= tonumber(ARGV[7]) then return {-5} end
for i = 11, #ARGV do
  if tonumber(redis.call('HGET', KEYS[9], ARGV[i]) or '0') >= tonumber(ARGV[9]) then return {-6} end
end
for i = 11, #ARGV do redis.call('HINCRBY', KEYS[9], ARGV[i], 1) end
local rec = ARGV[5]
if ARGV[10] ~= '' then
  -- Balanced assignment: the team with the fewest members (the first listed
  -- on a tie).
  local best, bestn = nil, nil
  for t in string.gmatch(ARGV[10], '[^,]+') do
    local n = tonumber(redis.call('HGET', KEYS[10], t) or '0')
    if not bestn or n < bestn then best, bestn = t, n end
  end
  rec = string.gsub(rec, '"team":%-1', '"team":' .. best, 1)
end
local team = string.match(rec, '"team":(%d+)')
if team then redis.call('HINCRBY', KEYS[10], team, 1) end
local id = redis.call('HINCRBY', KEYS[1], 'pids', 1)
redis.call('HSET', KEYS[5], ARGV[3], id)
redis.call('HSET', KEYS[6], ARGV[4], id)
redis.call('HSET', KEYS[4], id, (string.gsub(rec, '"id":0', '"id":' .. id, 1)))
redis.call('ZADD', KEYS[7], 0, id)
for i = 4, 7 do follow(KEYS[i]) end
for i = 9, 10 do follow(KEYS[i]) end
local flush = 0
if redis.call('SET', KEYS[8], '1', 'NX', 'PX', ARGV[6]) then flush = 1 end
local fromq = 0
if phase ~= 'lobby' then
  fromq = tonumber(redis.call('HGET', KEYS[1], 'q') or '-1')
  if phase ~= 'question' then fromq = fromq + 1 end
end
return {id, tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0'), tonumber(team or '0'), flush, fromq}
