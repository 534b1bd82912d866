-- list-dead: one page of dead letters, newest first.
--
-- KEYS[1] dead     LIST of dead letter ids, newest first
-- KEYS[2] deadrec  HASH id → dead letter entry
--
-- ARGV[1] offset
-- ARGV[2] limit
--
-- Returns {total, id, entry|nil, id, entry|nil, ...}.
local rcall = redis.call
local offset = tonumber(ARGV[1])
local out = {rcall('LLEN', KEYS[1])}
local ids = rcall('LRANGE', KEYS[1], offset, offset + tonumber(ARGV[2]) - 1)
if #ids > 0 then
  local entries = rcall('HMGET', KEYS[2], unpack(ids))
  for i = 1, #ids do
    out[2 * i] = ids[i]
    out[2 * i + 1] = entries[i]
  end
end
return out
