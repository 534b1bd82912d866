-- Include: lease checks. A lease is valid while {p}:lease holds its token and
-- its expiry in {p}:held has not passed; otherwise its holder is fenced.

-- When the current, unexpired lease of `queue` has `token`: its stored `token:owner`; else false.
local function leaseValid (leaseKey, heldKey, queue, token, now)
  local v = rcall('HGET', leaseKey, queue)
  if not v or string.sub(v, 1, #token + 1) ~= token .. ':' then return false end
  local expiresAt = tonumber(rcall('ZSCORE', heldKey, queue))
  return expiresAt ~= nil and expiresAt > now and v
end

local function unlease (leaseKey, heldKey, queue)
  rcall('ZREM', heldKey, queue)
  rcall('HDEL', leaseKey, queue)
end
