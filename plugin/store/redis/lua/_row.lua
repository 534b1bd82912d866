-- Include: one queue's row for the admin reads, as a flat list the client
-- decodes (it derives the state by the contract's precedence):
--   name, depth, head record|nil, attempts[\nlastError]|nil,
--   token:number:expiresAt:flags:owner|nil, retryAt|nil, missingHandler|nil,
--   haltedAt|nil, paused 0|1, limiter|nil (set when the delayed score is a throttle)
-- Expects locals K_QID, K_Q, K_HEADS, K_LEASE, K_DELAYED, K_PARKED, K_HALTED,
-- K_PAUSED, K_THROTTLED holding those keys.

-- Appends the row of `name` to `out`; false when the queue does not exist.
local function appendRow (out, name)
  local num = rcall('HGET', K_QID, name)
  if not num then return false end
  local n = #out
  out[n + 1] = name
  out[n + 2] = rcall('LLEN', K_Q .. num)
  out[n + 3] = rcall('LINDEX', K_Q .. num, 0)
  out[n + 4] = rcall('HGET', K_HEADS, name)
  out[n + 5] = rcall('HGET', K_LEASE, name)
  out[n + 6] = rcall('ZSCORE', K_DELAYED, name)
  out[n + 7] = rcall('HGET', K_PARKED, name)
  out[n + 8] = rcall('HGET', K_HALTED, name)
  out[n + 9] = rcall('SISMEMBER', K_PAUSED, name)
  out[n + 10] = rcall('HGET', K_THROTTLED, name)
  return true
end
