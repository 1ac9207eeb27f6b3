"""The state changes that must be atomic, as Lua scripts run inside Redis.

Every run is guarded by a lease: ``<run>:lease`` holds ``<worker>|<fence>`` and expires unless
its worker renews it. The fence is ``INCR``'d at each claim, so a worker that was paused or
cut off past its lease (and replaced) holds a stale value: every event, status and field it
writes goes through a script that compares the lease first, and refuses. Keys are built from
the prefix inside the scripts, so the service needs one Redis (or Sentinel), not a Cluster.
"""

from __future__ import annotations

# Shared helpers, prepended to every script. ARGV[1] is always the key root ("<prefix>:svc").
_PRELUDE = """
local root = ARGV[1]
local function run_key(id) return root .. ':run:' .. id end
local function thread_key(id) return root .. ':thread:' .. id end
local function is_final(status)
  return status == 'success' or status == 'error' or status == 'timeout'
    or status == 'interrupted'
end
local function mark_busy(tkey, run_id, now)
  local status = redis.call('HGET', tkey, 'status')
  if status and status ~= 'busy' then redis.call('HSET', tkey, 'rest_status', status) end
  redis.call('HSET', tkey, 'active_run', run_id, 'status', 'busy', 'updated_at', now)
  redis.call('XADD', root .. ':queue', '*', 'run_id', run_id)
end
local function promote(thread_id, now)
  local tkey = thread_key(thread_id)
  while true do
    local nxt = redis.call('LPOP', tkey .. ':waiting')
    if not nxt then
      redis.call('HSET', tkey, 'active_run', '')
      return false
    end
    if redis.call('HGET', run_key(nxt), 'status') == 'pending' then
      mark_busy(tkey, nxt, now)
      return nxt
    end
  end
end
local function finalize(run_id, status, error_kind, error_message, thread_status, now, ttl, fence)
  local rkey = run_key(run_id)
  redis.call('HSET', rkey, 'status', status, 'error', error_message, 'error_kind', error_kind,
    'updated_at', now)
  redis.call('DEL', rkey .. ':lease')
  local events = rkey .. ':events'
  if error_message ~= '' then
    redis.call('XADD', events, '*', 'event', 'error', 'data',
      cjson.encode({error = error_kind, message = error_message}), 'fence', fence)
  end
  redis.call('XADD', events, '*', 'event', 'end', 'data',
    cjson.encode({run_id = run_id, status = status}), 'fence', fence)
  redis.call('EXPIRE', events, ttl)
  local thread_id = redis.call('HGET', rkey, 'thread_id')
  local tkey = thread_key(thread_id)
  if redis.call('HGET', tkey, 'active_run') == run_id then
    if thread_status == '' then
      thread_status = redis.call('HGET', tkey, 'rest_status') or 'idle'
    end
    redis.call('HSET', tkey, 'status', thread_status, 'updated_at', now)
    promote(thread_id, now)
  end
end
local function cancel(run_id, now, ttl)
  local rkey = run_key(run_id)
  local status = redis.call('HGET', rkey, 'status')
  if not status then return 'missing' end
  if is_final(status) then return 'final' end
  redis.call('HSET', rkey, 'cancel', '1', 'updated_at', now)
  if status == 'pending' and redis.call('EXISTS', rkey .. ':lease') == 0 then
    local thread_id = redis.call('HGET', rkey, 'thread_id')
    redis.call('LREM', thread_key(thread_id) .. ':waiting', 0, run_id)
    finalize(run_id, 'interrupted', '', '', '', now, ttl, '0')
    return 'cancelled'
  end
  return 'requested'
end
"""

# ARGV: root, run_id, thread_id, strategy, now, now_ms, ttl, then the run's field/value pairs.
SUBMIT = (
    _PRELUDE
    + """
local run_id, thread_id, strategy, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local tkey = thread_key(thread_id)
if redis.call('EXISTS', tkey) == 0 then return {'missing', ''} end
local active = redis.call('HGET', tkey, 'active_run')
local busy = active and active ~= ''
if busy and strategy == 'reject' then return {'busy', active} end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', run_key(run_id), unpack(fields))
redis.call('ZADD', tkey .. ':runs', ARGV[6], run_id)
redis.call('HSET', tkey, 'updated_at', now)
if busy then
  if strategy == 'interrupt' then
    redis.call('LPUSH', tkey .. ':waiting', run_id)
    cancel(active, now, tonumber(ARGV[7]))
  else
    redis.call('RPUSH', tkey .. ':waiting', run_id)
  end
  return {'queued', active}
end
mark_busy(tkey, run_id, now)
return {'started', ''}
"""
)

# ARGV: root, run_id, worker, lease_ms, max_attempts, now, ttl.
CLAIM = (
    _PRELUDE
    + """
local run_id, worker, now, ttl = ARGV[2], ARGV[3], ARGV[6], tonumber(ARGV[7])
local rkey = run_key(run_id)
local status = redis.call('HGET', rkey, 'status')
if not status then return {'missing'} end
if is_final(status) then return {'final'} end
local holder = redis.call('GET', rkey .. ':lease')
if holder then return {'held', holder} end
if redis.call('HGET', rkey, 'cancel') == '1' then
  finalize(run_id, 'interrupted', '', '', '', now, ttl, '0')
  return {'final'}
end
local attempts = redis.call('HINCRBY', rkey, 'attempts', 1)
if attempts > tonumber(ARGV[5]) then
  local last = redis.call('HGET', rkey, 'worker') or '?'
  local message = 'the run was started ' .. (attempts - 1) .. ' times and each time its '
    .. 'worker stopped (crashed or lost its lease) before it finished, last on ' .. last
    .. '; it is not retried again'
  finalize(run_id, 'error', 'WorkerLost', message, 'error', now, ttl, '0')
  return {'failed', message}
end
local fence = redis.call('HINCRBY', rkey, 'fence', 1)
holder = worker .. '|' .. fence
redis.call('SET', rkey .. ':lease', holder, 'PX', ARGV[4])
redis.call('HSET', rkey, 'status', 'running', 'worker', worker, 'updated_at', now)
return {'claimed', holder, tostring(attempts), tostring(fence)}
"""
)

# ARGV: root, run_id, holder, lease_ms. Returns -1 (lease lost), 1 (cancel asked) or 0.
RENEW = (
    _PRELUDE
    + """
local rkey = run_key(ARGV[2])
if redis.call('GET', rkey .. ':lease') ~= ARGV[3] then return -1 end
redis.call('PEXPIRE', rkey .. ':lease', ARGV[4])
if redis.call('HGET', rkey, 'cancel') == '1' then return 1 end
return 0
"""
)

# ARGV: root, run_id, holder, fence, then event/data pairs. Returns 0 (lease lost) or the
# last entry id.
PUBLISH = (
    _PRELUDE
    + """
local rkey = run_key(ARGV[2])
if redis.call('GET', rkey .. ':lease') ~= ARGV[3] then return 0 end
local last = ''
for i = 5, #ARGV, 2 do
  last = redis.call('XADD', rkey .. ':events', '*', 'event', ARGV[i], 'data', ARGV[i + 1],
    'fence', ARGV[4])
end
return last
"""
)

# ARGV: root, run_id, holder, field, value. Returns 1, or 0 when the lease is lost.
SET_FIELD = (
    _PRELUDE
    + """
local rkey = run_key(ARGV[2])
if redis.call('GET', rkey .. ':lease') ~= ARGV[3] then return 0 end
redis.call('HSET', rkey, ARGV[4], ARGV[5])
return 1
"""
)

# ARGV: root, run_id, holder, status, error_kind, error_message, thread_status, now, ttl, fence.
FINISH = (
    _PRELUDE
    + """
if redis.call('GET', run_key(ARGV[2]) .. ':lease') ~= ARGV[3] then return 0 end
finalize(ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10])
return 1
"""
)

# ARGV: root, run_id, holder, now. A worker shutting down hands the run back unspent.
RELEASE = (
    _PRELUDE
    + """
local rkey = run_key(ARGV[2])
if redis.call('GET', rkey .. ':lease') ~= ARGV[3] then return 0 end
redis.call('DEL', rkey .. ':lease')
redis.call('HINCRBY', rkey, 'attempts', -1)
redis.call('HSET', rkey, 'status', 'pending', 'updated_at', ARGV[4])
return 1
"""
)

# ARGV: root, run_id, now, ttl. Returns missing | final | cancelled | requested.
CANCEL = (
    _PRELUDE
    + """
return cancel(ARGV[2], ARGV[3], tonumber(ARGV[4]))
"""
)

# ARGV: root, thread_id, owner. Runs of the thread lose their leases, so a worker still
# executing one stops writing.
DELETE_THREAD = (
    _PRELUDE
    + """
local tkey = thread_key(ARGV[2])
if redis.call('HGET', tkey, 'owner') ~= ARGV[3] then return 0 end
for _, run_id in ipairs(redis.call('ZRANGE', tkey .. ':runs', 0, -1)) do
  local rkey = run_key(run_id)
  redis.call('DEL', rkey, rkey .. ':lease', rkey .. ':events')
end
redis.call('DEL', tkey, tkey .. ':runs', tkey .. ':waiting')
redis.call('ZREM', root .. ':user:' .. ARGV[3] .. ':threads', ARGV[2])
return 1
"""
)
