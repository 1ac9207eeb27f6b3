"""The forgetting sweep as it was before, kept to measure the current one against.

It sent every memory key back to Redis in steps of 2,000, and its script deleted each fading
turn's hash with DEL, so the Query Engine repaired its HNSW graph for every memory inside the
script. Only the benchmark runs this; ``MemoryStore.sweep`` is the sweep the project uses.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from hanlin.memory.records import KeySpace
from hanlin.memory.store_scripts import DROP_EMPTY_DAYS

# KEYS: strength, recalled, then the records to examine. ARGV: ids, ver, now, unit_seconds,
# m (records), their m ids, then one cutoff for all. Returns {forgotten keys, version, kept}.
PER_KEY_SWEEP = """
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


async def per_key_sweep(
    client: aioredis.Redis,
    keys: KeySpace,
    user: str,
    *,
    now: float,
    unit_seconds: float,
    threshold: float,
    batch: int = 2_000,
) -> tuple[int, float]:
    """One user's threshold sweep the old way; returns (turns forgotten, seconds taken)."""
    started = time.perf_counter()
    sweep = client.register_script(PER_KEY_SWEEP)
    drop_days = client.register_script(DROP_EMPTY_DAYS)
    members: list[Any] = await client.zrange(keys.ids(user), 0, -1)
    state = [keys.strength(user), keys.recalled(user)]
    head = [keys.ids(user), keys.version(user), repr(now), repr(unit_seconds)]
    forgotten = 0
    for start in range(0, len(members), batch):
        chunk = members[start : start + batch]
        ids = [key.rsplit(b":", 1)[1] for key in chunk]
        args = [*head, len(ids), *ids, repr(threshold)]
        gone, _, _ = await sweep(keys=[*state, *chunk], args=args)
        forgotten += len(gone)
    await drop_days(keys=[keys.summary_days(user)], args=[keys.ids(user), keys.version(user)])
    return forgotten, time.perf_counter() - started
