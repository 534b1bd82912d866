-- Include: the attempts and last error of a queue's head, one {p}:heads field
-- per queue: `<attempts>` or `<attempts>\n<lastError>`. One field, so going on
-- to the next head is a single HSET. It goes when the head leaves the queue.

-- attempts (0 when unset or unreadable) and lastError (false when none).
local function headState (v)
  if not v then return 0, false end
  local nl = string.find(v, '\n', 1, true)
  if not nl then return tonumber(v) or 0, false end
  return tonumber(string.sub(v, 1, nl - 1)) or 0, string.sub(v, nl + 1)
end

local function headValue (attempts, lastError)
  if lastError then return attempts .. '\n' .. lastError end
  return attempts
end
