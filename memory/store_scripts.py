"""The Lua scripts behind MemoryStore's multi-key changes, each atomic inside Redis.

Key names come from :class:`hanlin.memory.records.KeySpace`: the memory hash, the per-user
ZSET of memory keys (``ids``), version counter (``ver``), ``strength`` / ``recalled`` hashes
(turn id -> S, last recall time) and the SET of days that have daily summaries. A memory
hash's ``day_key`` field names its day's sets, ``<day_key>:turns`` and ``<day_key>:summaries``.

A memory exists while its key is in the ``ids`` ZSET. Forgetting takes it out of the ZSET and
the state hashes at once but only queues the hash in the user's ``graveyard`` LIST, deleted a
few at a time after the sweep (memory/reclaim.py): deleting a hash makes the Query Engine
repair its HNSW graph on the spot, which inside a sweep script held every other client up. So
every script that reads a memory by key checks the ZSET first.
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

# KEYS: strength, recalled, ids, then records. ARGV: now ('' to only read), then the hash
# fields to return (id 1st, kind 4th). Returns per record its fields followed by S and last
# recall as they were before this recall (nil for non-turns); a gone or forgotten record gives
# an empty row. Only turns are strengthened.
RECALL = """
local out = {}
local n = #ARGV - 1
for i = 4, #KEYS do
  local values = {}
  if redis.call('ZSCORE', KEYS[3], KEYS[i]) then
    values = redis.call('HMGET', KEYS[i], unpack(ARGV, 2))
  end
  if values[1] then
    values[n + 1] = redis.call('HGET', KEYS[1], values[1])
    values[n + 2] = redis.call('HGET', KEYS[2], values[1])
    if ARGV[1] ~= '' and values[4] == 'turn' then
      redis.call('HINCRBY', KEYS[1], values[1], 1)
      redis.call('HSET', KEYS[2], values[1], ARGV[1])
    end
  end
  out[i - 3] = values
end
return out
"""

# KEYS: record, ids, ver, strength, recalled. Returns {deleted 0/1, version}.
DELETE = """
local v = {}
if redis.call('ZSCORE', KEYS[2], KEYS[1]) then v = redis.call('HMGET', KEYS[1], 'day_key', 'id') end
if not v[1] then return {0, tonumber(redis.call('GET', KEYS[3]) or '0')} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[4], v[2])
redis.call('HDEL', KEYS[5], v[2])
redis.call('SREM', v[1] .. ':turns', KEYS[1])
redis.call('SREM', v[1] .. ':summaries', KEYS[1])
return {1, redis.call('INCR', KEYS[3])}
"""

# KEYS: strength, recalled, ids, ver, graveyard. ARGV: now, unit_seconds, first rank, last
# rank, then one cutoff for all or one per rank. Looks at the memories at those ranks of ids:
# a turn is forgotten when exp(-dt / S) < its cutoff, with S and dt read here (other kinds have
# no S and stay). Forgetting removes it from ids, the state hashes and its day's turns, and
# queues its hash in the graveyard (see the module docstring).
# Returns {forgotten keys, version, turns looked at, memories looked at}.
SWEEP = """
local now, unit = tonumber(ARGV[1]), tonumber(ARGV[2])
local keys = redis.call('ZRANGE', KEYS[3], ARGV[3], ARGV[4])
local version = tonumber(redis.call('GET', KEYS[4]) or '0')
if #keys == 0 then return {{}, version, 0, 0} end
local ids = {}
for i, key in ipairs(keys) do ids[i] = string.match(key, '[^:]+$') end
local strength = redis.call('HMGET', KEYS[1], unpack(ids))
local recalled = redis.call('HMGET', KEYS[2], unpack(ids))
local single = #ARGV == 5
local gone, gone_ids, turns = {}, {}, 0
for i = 1, #keys do
  if strength[i] and recalled[i] then
    turns = turns + 1
    local cutoff = tonumber(ARGV[single and 5 or (4 + i)])
    local elapsed = math.max(0, now - tonumber(recalled[i])) / unit
    if math.exp(-elapsed / tonumber(strength[i])) < cutoff then
      local key = keys[i]
      local day_key = redis.call('HGET', key, 'day_key')
      if day_key then redis.call('SREM', day_key .. ':turns', key) end
      gone[#gone + 1] = key
      gone_ids[#gone_ids + 1] = ids[i]
    end
  end
end
if #gone > 0 then
  redis.call('ZREM', KEYS[3], unpack(gone))
  redis.call('HDEL', KEYS[1], unpack(gone_ids))
  redis.call('HDEL', KEYS[2], unpack(gone_ids))
  redis.call('RPUSH', KEYS[5], unpack(gone))
  version = redis.call('INCR', KEYS[4])
end
return {gone, version, turns, #keys}
"""

# KEYS: graveyard. ARGV: count. Deletes up to count queued hashes, oldest first; returns how
# many are still queued.
RECLAIM = """
local keys = redis.call('LPOP', KEYS[1], ARGV[1])
if keys then redis.call('UNLINK', unpack(keys)) end
return redis.call('LLEN', KEYS[1])
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
