-- Include: takes the first waiting queue off the ready list and grants
-- `owner` a lease on it (claim, and complete when its caller asks for another
-- queue). Entries that cannot run (a bug or a hand edit) are dropped rather
-- than claimed; the loop is bounded. Returns {queue, record, attempt, token,
-- leaseExpiresAt (ms), lastError or nil}, or nil when no queue is waiting;
-- with a lookahead ≥ 1 (pipelined acks), {…, lastError or false, false,
-- record…} with the records queued behind the head (_lookahead.lua).
-- @include _grant
-- @include _lookahead

local function claimWaiting (readyKey, qidKey, qPrefix, leaseKey, tokenKey, epochKey, headsKey, owner, leaseMs, lookahead)
  for _ = 1, 100 do
    local queue = rcall('LPOP', readyKey)
    if not queue then return nil end
    local num = rcall('HGET', qidKey, queue)
    local rec = num and rcall('LINDEX', qPrefix .. num, 0)
    if rec and rcall('HEXISTS', leaseKey, queue) == 0 then
      local token, expiresAt, attempts, lastError = grantLease(leaseKey, tokenKey, epochKey, headsKey, queue, num, owner, leaseMs)
      if lookahead < 1 then return {queue, rec, attempts, token, expiresAt, lastError} end
      return appendLookahead({queue, rec, attempts, token, expiresAt, lastError, false}, qPrefix .. num, lookahead)
    end
  end
  return nil
end
