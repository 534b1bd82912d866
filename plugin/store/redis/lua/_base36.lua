-- Include: base 36 numbers, which keep queue numbers and task ids short.

local BASE36_DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'

-- `n` (a whole number ≥ 0) in base 36.
local function base36 (n)
  if n == 0 then return '0' end
  local s = ''
  while n > 0 do
    local d = n % 36
    s = string.sub(BASE36_DIGITS, d + 1, d + 1) .. s
    n = (n - d) / 36
  end
  return s
end
