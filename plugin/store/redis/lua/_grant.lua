-- Include: granting a lease on a queue whose head is about to run (claim, and
-- enqueue when the enqueuing instance has an idle slot). A new fencing token,
-- one more attempt counted on the head, the lease field written.
-- @include _clock
-- @include _head
-- @include _lease

-- token, expiresAt, attempts, lastError (false when none).
local function grantLease (leaseKey, tokenKey, headsKey, queue, num, owner, leaseMs)
  local token = rcall('INCR', tokenKey)
  local expiresAt = nowMs() + tonumber(leaseMs)
  local attempts, lastError = headState(rcall('HGET', headsKey, queue))
  attempts = attempts + 1
  rcall('HSET', headsKey, queue, headValue(attempts, lastError))
  local flags = (attempts == 1 and not lastError) and '1' or ''
  rcall('HSET', leaseKey, queue, leaseValue(token, num, expiresAt, flags, owner))
  return token, expiresAt, attempts, lastError
end
