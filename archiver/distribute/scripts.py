"""The Lua scripts of the shared frontier: each step that must not be split between two Redis
calls (taking a request with its lease, committing a page, claiming the publishing).
"""

from __future__ import annotations

import logging

logger = logging.getLogger("archiver.workers")


TAKE = """
local payload = redis.call('RPOP', KEYS[1])
if payload then redis.call('HSET', KEYS[2], ARGV[2], ARGV[1] .. '\\n' .. payload) end
return payload
"""
# Leases whose owner's heartbeat expired go back to the frontier, to be taken next.
REQUEUE = """
local moved = 0
local leases = redis.call('HGETALL', KEYS[1])
for i = 1, #leases, 2 do
  local value = leases[i + 1]
  local cut = string.find(value, '\\n', 1, true)
  local owner = string.sub(value, 1, cut - 1)
  if redis.call('EXISTS', ARGV[1] .. owner) == 0 then
    redis.call('RPUSH', KEYS[2], string.sub(value, cut + 1))
    redis.call('HDEL', KEYS[1], leases[i])
    moved = moved + 1
  end
end
return moved
"""
# Seeding is one step: the start requests go in, and the crawl is marked seeded, together
# or not at all, by the first worker to ask; every other worker only takes from the frontier.
SEED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""
# A page's rows count once: the first commit wins, and only it adds to the listing's counts.
COMMIT = """
if ARGV[9] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[9] then return -1 end
redis.call('HDEL', KEYS[2], ARGV[3])
if ARGV[4] == '' then return 1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], 'pages', 1)
redis.call('HINCRBY', KEYS[3], 'extracted', tonumber(ARGV[4]))
if ARGV[5] ~= '' then redis.call('HSETNX', KEYS[3], 'announced', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[3], 'profile', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[3], 'time:' .. ARGV[7], 1) end
if ARGV[8] ~= '' then redis.call('HSETNX', KEYS[3], 'stopped', ARGV[8]) end
return 1
"""
# Who asked for a page first: "new" for the first, "again" when the same page asks again (it
# was read twice, after a worker died), "other" when another page already asked (a loop).
CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then return 'new' end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 'again' end
return 'other'
"""
# A shared politeness gate per host: at most ARGV[2] requests at once across all workers,
# and starts at least ARGV[3] seconds apart. Returns 0 (go) or how long to wait.
GATE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return '0.05' end
local next_start = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < next_start then return tostring(next_start - now) end
redis.call('SET', KEYS[1], tostring(now + tonumber(ARGV[3])), 'EX', 3600)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('EXPIRE', KEYS[2], 3600)
return '0'
"""
# A host asked everyone to wait (429/503): no worker starts a request there before then.
HOLD = """
local until_ = tonumber(ARGV[1])
local next_start = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > next_start then redis.call('SET', KEYS[1], tostring(until_), 'EX', 3600) end
return 1
"""

# A claim is given up only by its owner: another worker may hold it by now.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Extend a claim only while this worker holds it: a publisher that stalled past its lease
# must never stretch the claim of the worker that took over.
KEEP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
