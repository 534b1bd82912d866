-- Include: lease checks. A lease is `<token>:<queue number>:<owner>` in
-- {p}:lease plus its expiry in {p}:held; it is valid while both stand and the
-- expiry has not passed. Otherwise its holder is fenced.

-- When the current, unexpired lease of `queue` has `token`: its stored value; else false.
local function leaseValid (leaseKey, heldKey, queue, token, now)
  local v = rcall('HGET', leaseKey, queue)
  if not v or string.sub(v, 1, #token + 1) ~= token .. ':' then return false end
  local expiresAt = tonumber(rcall('ZSCORE', heldKey, queue))
  return expiresAt ~= nil and expiresAt > now and v
end

-- The queue number kept in a lease value (saves a {p}:qid lookup per task).
local function leaseNum (v)
  return string.match(v, '^[^:]*:([^:]*):')
end

local function unlease (leaseKey, heldKey, queue)
  rcall('ZREM', heldKey, queue)
  rcall('HDEL', leaseKey, queue)
end
