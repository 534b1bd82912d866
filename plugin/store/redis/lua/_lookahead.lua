-- Include: the records queued behind a queue's next head, appended to a reply
-- (pipelined acks, an opt-in worker mode: claim and complete hand them out with
-- the head; reading only, nothing is counted or leased). At most `lookahead`
-- (≤ 1000) records, and bounded in bytes too (payloads may be large): at least
-- one record, then up to ~1 MB.
local function appendLookahead (reply, listKey, lookahead)
  local bytes = 0
  for _, rec in ipairs(redis.call('LRANGE', listKey, 1, math.min(lookahead, 1000))) do
    if bytes > 1000000 then break end
    bytes = bytes + #rec
    reply[#reply + 1] = rec
  end
  return reply
end
