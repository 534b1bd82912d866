-- Include: the store clock. Scripts take time from the Redis server (TIME),
-- never from a client, so every instance agrees on lease expiry and retry times.

-- Now, in ms since the epoch.
local function nowMs ()
  local t = rcall('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
