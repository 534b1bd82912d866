-- Include: handoff. An instance whose claim found nothing, and that is about
-- to block on its inbox and the wake list, is listed in {p}:idle (member
-- `<leaseMs>\t<owner>`, score: the time its offer ends, a fraction of its
-- lease). An enqueue that makes a queue runnable grants the lease to the
-- listed instance whose offer ends first and pushes the claim reply onto that
-- instance's inbox, where its blocking read takes it: the task starts without
-- a wake-up token, a second claim round trip and the claim script. Measured
-- in bench/README.md (pickup latency). One queue per offer; the next claim
-- takes the offer back. A handed lease is a lease like any other: if its
-- instance died while listed, the queue is taken over when the lease ends
-- (G6, from the handoff); the inbox expires with it.
-- @include _grant

-- Hands `queue` (number `num`, head `rec`) to an idle instance; true when
-- handed. A queue still held (its holder completed its last task and kept
-- the lease) is not handed: it only becomes waiting, as before.
-- `nowText`: the time (ms) as text, converted once by the caller.
local function handOff (idleKey, inboxPrefix, leaseKey, tokenKey, epochKey, headsKey, queue, num, rec, nowText)
  local found = rcall('ZRANGE', idleKey, nowText, '+inf', 'BYSCORE', 'LIMIT', '0', '1')
  local member = found[1]
  if not member or rcall('HEXISTS', leaseKey, queue) == 1 then return false end
  rcall('ZREM', idleKey, member)
  local tab = string.find(member, '\t', 1, true)
  local leaseMs = tab and tonumber(string.sub(member, 1, tab - 1))
  if not leaseMs then return false end
  local owner = string.sub(member, tab + 1)
  local token, expiresAt, attempts, lastError = grantLease(leaseKey, tokenKey, epochKey, headsKey, queue, num, owner, leaseMs)
  local inbox = inboxPrefix .. owner
  rcall('RPUSH', inbox, cjson.encode({queue, rec, attempts, token, expiresAt, lastError or false}))
  rcall('PEXPIRE', inbox, leaseMs)
  return true
end
