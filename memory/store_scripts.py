"""The Lua scripts behind MemoryStore's multi-key changes, each atomic inside Redis.

Key names come from :class:`hanlin.memory.records.KeySpace`: the memory hash, the per-user
ZSET of memory keys (``ids``), version counter (``ver``), ``strength`` / ``recalled`` hashes
(turn id -> S, last recall time) and the SET of days that have daily summaries. A memory
hash's ``day_key`` field names its day's sets, ``<day_key>:turns`` and ``<day_key>:summaries``.
"""

from __future__ import annotations

# KEYS: record, ids, ver, users, strength, recalled, summary days.
# ARGV: created_at, user_id, kind, id, day_key, then field/value pairs.
# Only turns get a strength and a last recall (other kinds never fade).
# Idempotent: a retry after a lost reply finds the record and changes nothing.
ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, tonumber(redis.call('GET', KEYS[3]) or '0')}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[3] == 'turn' then
  redis.call('HSET', KEYS[5], ARGV[4], 1)
  redis.call('HSET', KEYS[6], ARGV[4], ARGV[1])
  redis.call('SADD', ARGV[5] .. ':turns', KEYS[1])
elseif ARGV[3] == 'daily_summary' then
  redis.call('SADD', ARGV[5] .. ':summaries', KEYS[1])
  redis.call('SADD', KEYS[7], ARGV[5])
end
redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
redis.call('SADD', KEYS[4], ARGV[2])
return {1, redis.call('INCR', KEYS[3])}
"""

# KEYS: strength, recalled, then records. ARGV: now ('' to only read), then the hash fields
# to return (id 1st, kind 4th). Returns per record its fields followed by S and last recall
# as they were before this recall (nil for non-turns); a gone record gives nils. Only turns
# are strengthened.
RECALL = """
local out = {}
local n = #ARGV - 1
for i = 3, #KEYS do
  local values = redis.call('HMGET', KEYS[i], unpack(ARGV, 2))
  if values[1] then
    values[n + 1] = redis.call('HGET', KEYS[1], values[1])
    values[n + 2] = redis.call('HGET', KEYS[2], values[1])
    if ARGV[1] ~= '' and values[4] == 'turn' then
      redis.call('HINCRBY', KEYS[1], values[1], 1)
      redis.call('HSET', KEYS[2], values[1], ARGV[1])
    end
  end
  out[i - 2] = values
end
return out
"""

# KEYS: record, ids, ver, strength, recalled. Returns {deleted 0/1, version}.
DELETE = """
local v = redis.call('HMGET', KEYS[1], 'day_key', 'id')
if not v[1] then return {0, tonumber(redis.call('GET', KEYS[3]) or '0')} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[4], v[2])
redis.call('HDEL', KEYS[5], v[2])
redis.call('SREM', v[1] .. ':turns', KEYS[1])
redis.call('SREM', v[1] .. ':summaries', KEYS[1])
return {1, redis.call('INCR', KEYS[3])}
"""

# KEYS: strength, recalled, then the records to examine.
# ARGV: ids, ver, now, unit_seconds, m (records), their m ids, then one cutoff for all or
# one per record. A turn is forgotten when exp(-dt / S) < its cutoff, with S and dt read
# here, not earlier. Non-turns have no strength and are skipped.
# Returns {forgotten keys, version, kept turns}.
SWEEP = """
local now, unit, m = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ids = {unpack(ARGV, 6, 5 + m)}
local strength = redis.call('HMGET', KEYS[1], unpack(ids))
local recalled = redis.call('HMGET', KEYS[2], unpack(ids))
local single = #ARGV == 6 + m
local gone, kept = {}, 0
for i = 1, m do
  if strength[i] and recalled[i] then
    local cutoff = tonumber(ARGV[single and (6 + m) or (5 + m + i)])
    local elapsed = math.max(0, now - tonumber(recalled[i])) / unit
    if math.exp(-elapsed / tonumber(strength[i])) < cutoff then
      local key = KEYS[2 + i]
      local day_key = redis.call('HGET', key, 'day_key')
      redis.call('DEL', key)
      redis.call('ZREM', ARGV[1], key)
      redis.call('HDEL', KEYS[1], ids[i])
      redis.call('HDEL', KEYS[2], ids[i])
      if day_key then redis.call('SREM', day_key .. ':turns', key) end
      gone[#gone + 1] = key
    else
      kept = kept + 1
    end
  end
end
local version = tonumber(redis.call('GET', ARGV[2]) or '0')
if #gone > 0 then version = redis.call('INCR', ARGV[2]) end
return {gone, version, kept}
"""

# KEYS: summary days (SET of day keys that have daily summaries). ARGV: ids, ver.
# Drops a day's summaries only while the day has no turns. Returns {removed keys, version}.
DROP_EMPTY_DAYS = """
local removed = {}
for _, day in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('SCARD', day .. ':turns') == 0 then
    for _, key in ipairs(redis.call('SMEMBERS', day .. ':summaries')) do
      if redis.call('DEL', key) == 1 then removed[#removed + 1] = key end
      redis.call('ZREM', ARGV[1], key)
    end
    redis.call('DEL', day .. ':summaries')
    redis.call('SREM', KEYS[1], day)
  elseif redis.call('SCARD', day .. ':summaries') == 0 then
    redis.call('SREM', KEYS[1], day)
  end
end
local version = tonumber(redis.call('GET', ARGV[2]) or '0')
if #removed > 0 then version = redis.call('INCR', ARGV[2]) end
return {removed, version}
"""
