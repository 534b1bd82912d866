-- Include: the dead letters. An entry is
--   deadAt \n attempts \n queue \n reason \n lastError \n <task record>
-- with reason and lastError escaped (\ → \\, newline → \n) and lastError
-- written `+<text>`, or `-` when there is none. The record comes last, as is,
-- so even a corrupt one is kept whole.

local function escapeLine (s)
  return (string.gsub(string.gsub(s, '\\', '\\\\'), '\n', '\\n'))
end

-- Stores a dead letter as the newest, dropping the oldest beyond `limit`. Returns the entry.
local function bury (deadKey, deadrecKey, id, queue, rec, attempts, reason, lastError, now, limit)
  local entry = now .. '\n' .. attempts .. '\n' .. queue .. '\n' .. escapeLine(reason) .. '\n' ..
    (lastError and ('+' .. escapeLine(lastError)) or '-') .. '\n' .. rec
  if rcall('HSET', deadrecKey, id, entry) == 0 then rcall('LREM', deadKey, 1, id) end
  local len = rcall('LPUSH', deadKey, id)
  if len > limit then
    local dropped = rcall('RPOP', deadKey, len - limit)
    for i = 1, #dropped do rcall('HDEL', deadrecKey, dropped[i]) end
  end
  return entry
end
