-- list-limiters: the state of every limiter used in the last day (at most
-- 1000, by name), for the admin API. Names whose state has expired are
-- dropped from the index, so this script writes.
--
-- KEYS[1] limiters SET of limiter names
-- KEYS[2] lim      prefix of limiter hashes
-- KEYS[3] limw     prefix of window logs
-- KEYS[4] limc     prefix of running slots
--
-- Returns {now, then per limiter: name, def, pause or nil, starts in window,
-- running slots, backoffs or nil}.
local rcall = redis.call
-- @include _clock

local now = nowMs()
local names = rcall('SMEMBERS', KEYS[1])
table.sort(names)
local out = {now}
local shown = 0
for i = 1, #names do
  local name = names[i]
  local h = rcall('HMGET', KEYS[2] .. name, 'def', 'pause', 'backoffs')
  if not h[1] and not h[2] then
    rcall('SREM', KEYS[1], name)
  elseif shown < 1000 then
    shown = shown + 1
    local perMs = tonumber(string.match(h[1] or '', '^%d+:(%d+):')) or 0
    out[#out + 1] = name
    out[#out + 1] = h[1] or '0:0:0'
    out[#out + 1] = h[2] or false
    out[#out + 1] = perMs > 0 and rcall('ZCOUNT', KEYS[3] .. name, '(' .. (now - perMs), '+inf') or 0
    out[#out + 1] = rcall('ZCOUNT', KEYS[4] .. name, '(' .. now, '+inf')
    out[#out + 1] = h[3] or false
  end
end
return out
