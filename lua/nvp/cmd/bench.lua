-- nvp bench [config=cifar-ref|fmnist-small batch=64 steps=10 warmup=3 sample_reps=3 threads=N]:
-- REFERENCE.md's measurement protocol on one of its two networks: random uint8 images made once,
-- timed training steps (dequantisation + logit + forward + NLL + backward + clipping + Adam, batch
-- norm in training mode) after untimed warm-up steps, then sampling batches with running
-- statistics; prints one JSON line with the peer's keys (torch_realnvp.py), medians of the timed
-- steps, and peak RSS read right after training.
local ffi = require "ffi"
local cli = require "nvp.cli"
local json = require "nvp.json"
local nffi = require "nvp.ffi"
local flow = require "nvp.flow"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"
local now = require "nvp.clock"

local M = {}

M.summary = "REFERENCE.md benchmark: nvp bench [config=fmnist-small|cifar-ref batch=64 steps=10 warmup=3]"

M.CONFIGS = {
    ["cifar-ref"] = {channels = 3, size = 32, scales = 2, width = 64, blocks = 8},
    ["fmnist-small"] = {channels = 1, size = 28, scales = 2, width = 32, blocks = 4},
}

local KEYS = {config = "string", batch = "number", steps = "number", warmup = "number", sample_reps = "number",
              threads = "number", seed = "number"}

pcall(ffi.cdef, [[
typedef struct nvp_rusage { long ru_utime[2]; long ru_stime[2]; long ru_maxrss; long rest[13]; } nvp_rusage;
int getrusage(int who, nvp_rusage *usage);
]])

local function peak_rss_mb()
    local ru = ffi.new("nvp_rusage")
    ffi.C.getrusage(0, ru)
    return tonumber(ru.ru_maxrss) / 1024
end

local function median(t)
    local s = {}
    for i, v in ipairs(t) do s[i] = v end
    table.sort(s)
    local n = #s
    return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end

function M.run(args)
    local positional, o = cli.verb_args("bench", args, KEYS)
    if #positional > 0 then cli.usage_error("bench takes only key=value options") end
    local name = o.config or "fmnist-small"
    local cfg = M.CONFIGS[name]
    if cfg == nil then cli.usage_error(("bench: unknown config '%s' (valid: cifar-ref, fmnist-small)"):format(name)) end
    local batch, steps, warmup = o.batch or 64, o.steps or 10, o.warmup or 3
    local reps = o.sample_reps or 3
    if batch < 2 or steps < 1 or warmup < 0 or reps < 1 then
        cli.usage_error("bench: need batch >= 2, steps >= 1, warmup >= 0, sample_reps >= 1")
    end
    if o.threads then nffi.check(nffi.C.nvp_set_threads(o.threads)) end
    local model = flow.RealNVP.new{channels = cfg.channels, size = cfg.size, scales = cfg.scales, width = cfg.width,
                                   blocks = cfg.blocks, seed = o.seed or 0}
    local opt = optim.Adam.new(model, {lr = 1e-3, l2 = 5e-5, clip = 100})
    local d = cfg.channels * cfg.size * cfg.size
    local pixels = ffi.new("uint8_t[?]", batch * d)
    local g = Rng.new(o.seed or 0)
    for i = 0, batch * d - 1 do pixels[i] = math.floor(g:random() * 256) end
    local noise = Rng.new((o.seed or 0) + 1)

    local times = {}
    for i = 1, warmup + steps do
        local t0 = now()
        local _, bpd = model:loss(pixels, batch, noise)
        model:zero_grad()
        model:backward()
        opt:step()
        local dt = now() - t0
        if i > warmup then times[#times + 1] = dt end
        io.stderr:write(("train step %d: %.3f s, %.3f bits/dim\n"):format(i - 1, dt, bpd))
    end
    local rss = peak_rss_mb()

    model:evaluate()
    local stimes = {}
    local sample_rng = Rng.new((o.seed or 0) + 2)
    for i = 1, 1 + reps do
        local t0 = now()
        model:sample(batch, sample_rng, 1.0)
        local dt = now() - t0
        if i > 1 then stimes[#stimes + 1] = dt end
        io.stderr:write(("sample batch %d: %.3f s\n"):format(i - 1, dt))
    end
    local fwd_gflop = 0
    local c, f, s = cfg.channels, cfg.width, cfg.size
    for k = 0, cfg.scales - 1 do
        -- REFERENCE.md 2.7: every coupling costs P (20 n f + f^2 + 19 B f^2) multiply-adds
        local ck, fk, side = c * 2 ^ k, f * 2 ^ k, s / 2 ^ k
        local function macs(n, width, pixels_) return pixels_ * (20 * n * width + width ^ 2 + 19 * cfg.blocks * width ^ 2) end
        if k < cfg.scales - 1 then
            fwd_gflop = fwd_gflop + 3 * macs(ck, fk, side * side) + 3 * macs(2 * ck, 2 * fk, (side / 2) ^ 2)
        else
            fwd_gflop = fwd_gflop + 4 * macs(ck, fk, side * side)
        end
    end
    fwd_gflop = 2 * fwd_gflop / 1e9
    print(json.encode{config = name, batch = batch, threads = nffi.C.nvp_get_threads(),
                      params = model:parameter_count(), fwd_gflop_per_img = math.floor(fwd_gflop * 1e4 + 0.5) / 1e4,
                      train_img_per_s = math.floor(batch / median(times) * 1000 + 0.5) / 1000,
                      sample_img_per_s = math.floor(batch / median(stimes) * 1000 + 0.5) / 1000,
                      peak_rss_mb = math.floor(rss + 0.5), nvp = ffi.string(nffi.C.nvp_version()),
                      cpu_path = ffi.string(nffi.C.nvp_cpu_path())})
    return 0
end

return M
