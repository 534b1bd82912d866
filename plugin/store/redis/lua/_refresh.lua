-- Include: complete does not rewrite a running queue's {p}:queues score for
-- every task it hands over (one call less per task); readers of the index
-- refresh the running queues' scores first. There are at most as many as
-- worker slots.

local function refreshRunning (leaseKey, qPrefix, queuesKey)
  local leases = rcall('HGETALL', leaseKey)
  for i = 1, #leases, 2 do
    local num = string.match(leases[i + 1], '^[^:]*:([^:]*):')
    local head = num and rcall('LINDEX', qPrefix .. num, 0)
    if head then rcall('ZADD', queuesKey, headScore(head), leases[i]) end
  end
end
