-- claim.lua: enqueue a waiter (if ARGV[1] is not "") and claim one group of
-- compatible waiters, atomically, so two instances never put one person in
-- two matches.
-- KEYS[1] queue (sorted set: user id by enqueue ms)
-- KEYS[2] levels (hash: user id -> "level:last poll ms")
-- ARGV: user, level, now ms, group size, base band, widening (levels per
--       minute of waiting), anchors tried, waiters scanned, stale ms
-- A waiter whose socket stopped polling (its instance died) is dropped
-- once its last poll is older than stale ms, never matched.
-- Two waiters are compatible when their levels differ by at most the band
-- of the longer waiter: base + widening * minutes waited. The oldest
-- waiters are tried as anchors first; a group is the anchor and the first
-- compatible waiters in queue order. Returns {user, level, enqueued, ...}
-- of the claimed group (removed from the queue), or {}.
local q, lv = KEYS[1], KEYS[2]
local user, level = ARGV[1], ARGV[2]
local now, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local base, widen = tonumber(ARGV[5]), tonumber(ARGV[6])
local anchors, scan = tonumber(ARGV[7]), tonumber(ARGV[8])
local stale = tonumber(ARGV[9])
if user ~= '' then
  redis.call('ZADD', q, 'NX', now, user)
  redis.call('HSET', lv, user, level .. ':' .. now)
end
local ws = redis.call('ZRANGE', q, 0, scan - 1, 'WITHSCORES')
local ids, lvl, band = {}, {}, {}
for i = 1, #ws, 2 do
  local v = redis.call('HGET', lv, ws[i]) or ''
  local l, seen = string.match(v, '^(%d+):(%d+)$')
  if not seen or tonumber(seen) < now - stale then
    redis.call('ZREM', q, ws[i])
    redis.call('HDEL', lv, ws[i])
  else
    local k = #ids + 1
    ids[k] = ws[i]
    lvl[k] = tonumber(l)
    band[k] = base + widen * (now - tonumber(ws[i + 1])) / 60000
  end
end
if #ids < n then
  return {}
end
for a = 1, math.min(anchors, #ids) do
  local group = {a}
  for b = 1, #ids do
    if b ~= a then
      if math.abs(lvl[a] - lvl[b]) <= math.max(band[a], band[b]) then
        group[#group + 1] = b
        if #group == n then break end
      end
    end
  end
  if #group == n then
    local out = {}
    for _, i in ipairs(group) do
      out[#out + 1] = ids[i]
      out[#out + 1] = tostring(lvl[i])
      out[#out + 1] = tostring(redis.call('ZSCORE', q, ids[i]))
      redis.call('ZREM', q, ids[i])
      redis.call('HDEL', lv, ids[i])
    end
    return out
  end
end
return {}
