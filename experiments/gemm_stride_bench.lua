-- nvp_gemm_small on one thread at the 1x1 convs' products, B and C with the planes' row stride (1024 and
-- 256 floats: a 32x32 and a 16x16 plane) and padded by 16 floats: GFLOP/s, best of 200 calls.
--   build/nvp experiments/gemm_stride_bench.lua
local T = require "nvp.tensor"
local C = require("nvp.ffi").C
local now = require "nvp.clock"
C.nvp_set_threads(1)
for _, cfg in ipairs{{64, 1024, 64}, {128, 256, 128}} do
  local m, n, k = cfg[1], cfg[2], cfg[3]
  for _, pad in ipairs{0, 16} do
    local ld = n + pad
    local a, b, c = T.randn({m * k}, 1), T.randn({k * ld}, 2), T.zeros{m * ld}
    local best = 1e9
    for rep = 1, 200 do
      local t0 = now()
      C.nvp_gemm_small(0, 0, m, n, k, a.data, k, b.data, ld, 1, c.data, ld)
      local dt = now() - t0
      if dt < best then best = dt end
    end
    print(("(%d,%d,%d) ld %d: %.1f GFLOP/s"):format(m, n, k, ld, 2 * m * n * k / best / 1e9))
  end
end
