-- delete-dead: removes one dead letter for good.
--
-- KEYS[1] deadrec  HASH id → dead letter entry
-- KEYS[2] dead     LIST of dead letter ids, newest first
--
-- ARGV[1] dead letter id
--
-- Returns 0, or -3 when there is no such dead letter.
local rcall = redis.call
if rcall('HDEL', KEYS[1], ARGV[1]) == 0 then return -3 end
rcall('LREM', KEYS[2], 1, ARGV[1])
return 0
