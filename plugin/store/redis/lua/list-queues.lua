-- list-queues: one page of queues in urgency order (the {p}:queues scores:
-- halted first, oldest halt first; then oldest head; then name), optionally
-- filtered by state and by a substring of the name. Without a filter it reads
-- only the page; with one it walks the index once (a few ms per 10,000
-- queues, measured), using in-script sets for the state test. Running queues'
-- scores are refreshed first (see _refresh.lua), so this script writes.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] q        prefix of the queue lists
-- KEYS[3] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[4] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[5] delayed  ZSET queue → retryAt
-- KEYS[6] parked   HASH queue → handler name
-- KEYS[7] halted   HASH queue → haltedAt
-- KEYS[8] paused   SET of paused queues
-- KEYS[9] queues   ZSET listing index
-- KEYS[10] throttled HASH queue → limiter name
--
-- ARGV[1] state filter, '' for any
-- ARGV[2] name substring (case-sensitive), '' for any
-- ARGV[3] offset
-- ARGV[4] limit
--
-- Returns {total, <10 row fields> per queue on the page}.
local rcall = redis.call
local K_QID, K_Q, K_HEADS, K_LEASE, K_DELAYED, K_PARKED, K_HALTED, K_PAUSED, K_THROTTLED =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[10]
-- @include _queue
-- @include _refresh
-- @include _row

refreshRunning(K_LEASE, K_Q, KEYS[9])
local state, search = ARGV[1], ARGV[2]
local offset, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {0}
local page

if state == '' and search == '' then
  out[1] = rcall('ZCARD', KEYS[9])
  page = rcall('ZRANGE', KEYS[9], offset, offset + limit - 1)
else
  local function set (list)
    local s = {}
    for i = 1, #list do s[list[i]] = true end
    return s
  end
  local held, paused, halted, delayed, parked, throttled
  if state ~= '' then
    throttled = set(rcall('HKEYS', K_THROTTLED))
    held = set(rcall('HKEYS', K_LEASE))
    paused = set(rcall('SMEMBERS', K_PAUSED))
    halted = set(rcall('HKEYS', K_HALTED))
    delayed = set(rcall('ZRANGE', K_DELAYED, 0, -1))
    parked = set(rcall('HKEYS', K_PARKED))
  end
  local function stateOf (name)
    if held[name] then return 'running' end
    if paused[name] then return 'paused' end
    if halted[name] then return 'halted' end
    if delayed[name] then return throttled[name] and 'throttled' or 'retrying' end
    if parked[name] then return 'missing-handler' end
    return 'waiting'
  end
  local all = rcall('ZRANGE', KEYS[9], 0, -1)
  local total = 0
  page = {}
  for i = 1, #all do
    local name = all[i]
    if (search == '' or string.find(name, search, 1, true)) and (state == '' or stateOf(name) == state) then
      total = total + 1
      if total > offset and #page < limit then page[#page + 1] = name end
    end
  end
  out[1] = total
end

for i = 1, #page do appendRow(out, page[i]) end
return out
