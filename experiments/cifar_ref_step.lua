-- experiments/cifar_ref_step.lua: build docs/REFERENCE.md's cifar-ref (or fmnist-small), print its
-- parameter count and the wall time of forward and of forward+backward on random images.
--   build/nvp experiments/cifar_ref_step.lua [config=cifar-ref|fmnist-small] [batch=64] [reps=3]
local opts = ... or {}
local ffi = require "ffi"
local flow = require "nvp.flow"
local Rng = require "nvp.rng"
local now = require "nvp.clock"
local nffi = require "nvp.ffi"

local CONFIGS = {
    ["cifar-ref"] = {channels = 3, size = 32, scales = 2, width = 64, blocks = 8},
    ["fmnist-small"] = {channels = 1, size = 28, scales = 2, width = 32, blocks = 4},
}
local name = opts.config or "cifar-ref"
local cfg = assert(CONFIGS[name], "config must be cifar-ref or fmnist-small")
local batch, reps = opts.batch or 64, opts.reps or 3
local model = flow.RealNVP.new(cfg)
local d = cfg.channels * cfg.size * cfg.size
local pixels = ffi.new("uint8_t[?]", batch * d)
local g = Rng.new(1)
for i = 0, batch * d - 1 do pixels[i] = math.floor(g:random() * 256) end
local noise = Rng.new(2)

local fwd, step = {}, {}
for r = 1, reps + 1 do
    local t0 = now()
    local _, bpd = model:loss(pixels, batch, noise)
    local t1 = now()
    model:zero_grad()
    model:backward()
    local t2 = now()
    if r > 1 then
        fwd[#fwd + 1], step[#step + 1] = t1 - t0, t2 - t0
    end
    io.stderr:write(("rep %d: forward %.3f s, forward+backward %.3f s, %.3f bits/dim\n"):format(r, t1 - t0, t2 - t0, bpd))
end
table.sort(fwd)
table.sort(step)
local function median(t) return t[math.floor((#t + 1) / 2)] end
print(("%s: %d parameters; batch %d, %s, %d threads: forward %.3f s (%.1f img/s), forward+backward %.3f s (%.2f img/s); "
    .. "median of %d after 1 warm-up"):format(name, model:parameter_count(), batch, ffi.string(nffi.C.nvp_cpu_path()),
    nffi.C.nvp_get_threads(), median(fwd), batch / median(fwd), median(step), batch / median(step), reps))
