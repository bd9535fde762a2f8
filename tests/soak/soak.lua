-- tests/soak/soak.lua - wrk script for the soak: cycles through a mix of
-- requests and compares every body with the bytes `glorot gen` computed
-- locally (the core library), found by the answer's Glorot-Seed header.
-- Environment: SOAK_DIR holds expected-<seed> files.

local dir = os.getenv("SOAK_DIR")
local mix = {
  {"GET", "/v1/glorot_uniform?shape=16,16&seed=101"},
  {"GET", "/v1/glorot_uniform?shape=32,64&dtype=float16&format=npy&seed=102"},
  {"GET", "/v1/glorot_uniform?shape=8,8&algorithm=mlx&format=safetensors&seed=103"},
  {"GET", "/v1/glorot_uniform?shape=4,4&format=json&seed=104"},
  {"GET", "/v1/glorot_uniform?shape=64,48&slice=8:24,-16:&seed=105"},
  {"GET", "/v1/glorot_uniform?shape=256,257&format=npy&seed=106"},
  {"POST", "/v1/glorot_uniform", '{"shape":[16,16],"format":"npy","seed":"107"}'},
  {"GET", "/v1/glorot_uniform?shape=2,3&dtype=bfloat16&algorithm=mlx-seeded&call=2&seed=108"},
}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = {}
  for seed = 101, 108 do
    local f = assert(io.open(dir .. "/expected-" .. seed, "rb"))
    expected[tostring(seed)] = f:read("*a")
    f:close()
  end
  reqs = {}
  for i, m in ipairs(mix) do
    local headers = {}
    if m[3] then headers["Content-Type"] = "application/json" end
    reqs[i] = wrk.format(m[1], m[2], headers, m[3])
  end
  n, right, wrong, bad = 0, 0, 0, 0
end

function request()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    return
  end
  local want = expected[headers["Glorot-Seed"] or ""]
  if want ~= nil and body == want then
    right = right + 1
  else
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local r, w, b = 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("right")
    w = w + t:get("wrong")
    b = b + t:get("bad")
  end
  io.write(string.format("SOAK-WRK right=%d wrong=%d bad=%d requests=%d errors=%d\n", r, w, b,
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end
