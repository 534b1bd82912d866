-- Include: leases. One {p}:lease field per held queue:
--   <token>:<queue number>:<expiresAt ms>:<flags>:<owner>
-- flags is 'p' when the queue was paused while held (so complete need not ask
-- {p}:paused); '1' when the queue's {p}:heads field is exactly `1` (attempt 1,
-- no last error), so complete, handing over to the next head, need not write
-- it again (one call less per kept task); '' otherwise. Only claim and
-- complete, which write {p}:heads themselves, set '1'; every other writer
-- writes 'p' or '', which is always safe (complete then writes {p}:heads).
-- Everything the hot path needs is in one HGET.
-- A lease is valid while its field holds the caller's token and has not expired;
-- otherwise its holder is fenced.

-- token, num, expiresAt (number), flags, owner; nil when `v` is not a lease.
local function parseLease (v)
  if not v then return nil end
  local token, num, expiresAt, flags, owner = string.match(v, '^([^:]*):([^:]*):([^:]*):([^:]*):(.*)$')
  if not token then return nil end
  return token, num, tonumber(expiresAt) or 0, flags, owner
end

local function leaseValue (token, num, expiresAt, flags, owner)
  return token .. ':' .. num .. ':' .. expiresAt .. ':' .. flags .. ':' .. owner
end

-- When `queue`'s current, unexpired lease has `token`: num, flags, owner. Else nil.
local function validLease (leaseKey, queue, token, now)
  local t, num, expiresAt, flags, owner = parseLease(rcall('HGET', leaseKey, queue))
  if t ~= token or expiresAt <= now then return nil end
  return num, flags, owner
end
