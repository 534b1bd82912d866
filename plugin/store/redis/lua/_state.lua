-- Include: a queue's scheduling state, by the precedence the Store contract
-- and MemoryStore use: running, then paused, halted, retrying or throttled
-- (a {p}:delayed entry, throttled when {p}:throttled names it), missing-handler, waiting. (A paused queue keeps its halt/retry/park mark; it shows on resume.)

local function queueState (leaseKey, pausedKey, haltedKey, delayedKey, parkedKey, throttledKey, queue)
  if rcall('HEXISTS', leaseKey, queue) == 1 then return 'running' end
  if rcall('SISMEMBER', pausedKey, queue) == 1 then return 'paused' end
  if rcall('HEXISTS', haltedKey, queue) == 1 then return 'halted' end
  if rcall('ZSCORE', delayedKey, queue) then
    return rcall('HEXISTS', throttledKey, queue) == 1 and 'throttled' or 'retrying'
  end
  if rcall('HEXISTS', parkedKey, queue) == 1 then return 'missing-handler' end
  return 'waiting'
end
