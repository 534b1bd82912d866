-- queue-tasks: one page of a queue's pending task records, head first.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] q        prefix of the queue lists
-- KEYS[3] heads    HASH queue → attempts[\nlastError] of its head
--
-- ARGV[1] queue
-- ARGV[2] offset
-- ARGV[3] limit
--
-- Returns {total, head attempts[\nlastError]|nil, record...}, or {0}
-- when the queue does not exist.
local rcall = redis.call
local num = rcall('HGET', KEYS[1], ARGV[1])
if not num then return {0} end
local listKey = KEYS[2] .. num
local offset = tonumber(ARGV[2])
local out = {rcall('LLEN', listKey), rcall('HGET', KEYS[3], ARGV[1])}
local recs = rcall('LRANGE', listKey, offset, offset + tonumber(ARGV[3]) - 1)
for i = 1, #recs do out[i + 2] = recs[i] end
return out
