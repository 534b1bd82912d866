-- Include: limiter state (see keys.ts lim/limw/limc/limq). A limiter's HASH
-- holds `pause` as `<until ms>:<by>`, until -1 meaning "until resumed".

-- Limiter state not used for a day disappears (per-customer limiters come and go).
local LIMITER_TTL_MS = 86400000

-- until (number; -1 for until resumed) and by, or nil when not paused.
local function parsePause (v)
  if not v then return nil end
  local untilMs, by = string.match(v, '^(-?%d+):(.*)$')
  if not untilMs then return nil end
  return tonumber(untilMs), by
end
