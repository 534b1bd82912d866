-- Include: granting a lease on a queue whose head is about to run (claim, and
-- enqueue when the enqueuing instance has an idle slot). A new fencing token,
-- one more attempt counted on the head, the lease field written.
--
-- Fencing across failovers. A promoted replica (or a master restarted from
-- an AOF that lost its last second) may have missed the last INCRs of the
-- token counter, and would hand out again a token a stale holder still has.
-- So a token is `<epoch><tag><counter>`: the epoch goes up by one whenever
-- the master's replication id (INFO replication master_replid, which Redis
-- changes on every promotion and every restart) differs from the one stored
-- with it; the tag is 8 digits from that id, which sets apart two masters
-- that reached the same epoch because the first one's bump never replicated;
-- the counter is 12 digits. Within one master's term tokens grow; a new
-- epoch's tokens are larger than the last epoch this master knew of. The
-- epoch is read once per script call (INFO costs ~4-6 µs in a script).
-- @include _clock
-- @include _head
-- @include _lease

local tokenPrefix = nil

-- `<epoch><tag>`, bumping the epoch when the master changed.
local function epochPrefix (epochKey)
  if tokenPrefix then return tokenPrefix end
  local info = redis.pcall('INFO', 'replication')
  local replid = ''
  if type(info) == 'string' then
    local at = string.find(info, 'master_replid:', 1, true)
    if at then replid = string.sub(info, at + 14, at + 53) end
  end
  local stored = rcall('GET', epochKey)
  local epoch, was = 0, nil
  if stored then
    local sep = string.find(stored, ':', 1, true)
    if sep then
      epoch = tonumber(string.sub(stored, 1, sep - 1)) or 0
      was = string.sub(stored, sep + 1)
    end
  end
  if was ~= replid then
    epoch = epoch + 1
    rcall('SET', epochKey, epoch .. ':' .. replid)
  end
  tokenPrefix = epoch .. string.format('%08d', tonumber(string.sub(replid, 1, 6), 16) or 0)
  return tokenPrefix
end

-- token, expiresAt, attempts, lastError (false when none).
local function grantLease (leaseKey, tokenKey, epochKey, headsKey, queue, num, owner, leaseMs)
  local token = epochPrefix(epochKey) .. string.format('%012d', rcall('INCR', tokenKey))
  local expiresAt = nowMs() + tonumber(leaseMs)
  local attempts, lastError = headState(rcall('HGET', headsKey, queue))
  attempts = attempts + 1
  rcall('HSET', headsKey, queue, headValue(attempts, lastError))
  local flags = (attempts == 1 and not lastError) and '1' or ''
  rcall('HSET', leaseKey, queue, leaseValue(token, num, expiresAt, flags, owner))
  return token, expiresAt, attempts, lastError
end
