-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench/server.sh: DDI base polls spread over every device
-- of a token file (lines "controller_id token"), each with its own
-- TargetToken; wrk's threads start at different devices and walk the list.
-- The same script drives nginx, which ignores path and header.
--   wrk -s bench/poll.lua URL -- TOKENS_FILE TENANT
local devices, n, i = {}, 0, 0
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

function init(args)
  local tenant = args[2] or "bench"
  for line in io.lines(args[1]) do
    local cid, tok = line:match("^(%S+) (%S+)$")
    if cid then
      n = n + 1
      devices[n] = { "/" .. tenant .. "/controller/v1/" .. cid, "TargetToken " .. tok }
    end
  end
  if n == 0 then error("no devices in " .. args[1]) end
  -- Far apart starting points, so two threads never poll the same device together.
  i = math.floor((tid or 0) * n / 7) % n
end

function request()
  i = i % n + 1
  local d = devices[i]
  return wrk.format("GET", d[1], { ["Authorization"] = d[2] })
end
