-- nvp.bench.race: one run of docs/REFERENCE.md's measurement protocol (section 3) on one of its two
-- reference networks, in this process: random uint8 images made once, timed training steps
-- (dequantisation + logit + forward + NLL + backward + clipping + Adam, batch norm in training
-- mode) after untimed warm-up steps, then sampling batches with running statistics. Returns the
-- record torch_realnvp.py prints (same keys), medians of the timed steps, peak RSS read right after
-- training.
--
--   local race = require "nvp.bench.race"
--   local record = race.run{config = "fmnist-small", batch = 64, steps = 10, warmup = 3, sample_reps = 3}
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local flow = require "nvp.flow"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"
local now = require "nvp.clock"

local M = {}

-- docs/REFERENCE.md section 1; glow-fmnist: recipes/glow_fmnist.lua's network (L = 2, K = 10, width
-- 128, 547,360 parameters), raced against experiments/torch_glow.py (peer_script says where).
M.CONFIGS = {
    ["cifar-ref"] = {channels = 3, size = 32, scales = 2, width = 64, blocks = 8},
    ["fmnist-small"] = {channels = 1, size = 28, scales = 2, width = 32, blocks = 4},
    ["glow-fmnist"] = {channels = 1, size = 28, recipe = "recipes/glow_fmnist.lua", levels = 2, depth = 10,
                       width = 128, peer_script = "experiments/torch_glow.py"},
}
M.CONFIG_NAMES = "cifar-ref, fmnist-small, glow-fmnist"

pcall(ffi.cdef, [[
typedef struct nvp_rusage { long ru_utime[2]; long ru_stime[2]; long ru_maxrss; long rest[13]; } nvp_rusage;
int getrusage(int who, nvp_rusage *usage);
]])

local cpu_ts = ffi.new("nvp_timespec") -- declared by nvp.clock

--- This process's CPU time in seconds (CLOCK_PROCESS_CPUTIME_ID): at one thread, a clock that other
-- jobs on a busy host barely move (wall time there counts their time slices too).
function M.cpu_clock()
    ffi.C.clock_gettime(2, cpu_ts)
    return tonumber(cpu_ts.tv_sec) + tonumber(cpu_ts.tv_nsec) * 1e-9
end

--- The clock a `clock=` option names: "wall" (default) or "cpu".
function M.clock_named(name)
    return (name == nil or name == "wall") and now or M.cpu_clock
end

--- getrusage(RUSAGE_SELF).ru_maxrss (KiB) / 1024, as the peer reports it.
function M.peak_rss_mb()
    local ru = ffi.new("nvp_rusage")
    ffi.C.getrusage(0, ru)
    return tonumber(ru.ru_maxrss) / 1024
end

function M.median(t)
    local s = {}
    for i, v in ipairs(t) do s[i] = v end
    table.sort(s)
    local n = #s
    return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end

local function round(x, digits)
    local f = 10 ^ digits
    return math.floor(x * f + 0.5) / f
end

--- Forward conv GFLOP per image by docs/REFERENCE.md 2.7: every coupling costs P (20 n f + f^2 + 19 B f^2)
-- multiply-adds on its grid of P pixels (n: s/t inputs, f: width, B: blocks).
function M.fwd_gflop_per_img(cfg)
    local macs = 0
    local function coupling(n, f, pixels) return pixels * (20 * n * f + f * f + 19 * cfg.blocks * f * f) end
    for k = 0, cfg.scales - 1 do
        local c, f, side = cfg.channels * 2 ^ k, cfg.width * 2 ^ k, cfg.size / 2 ^ k
        if k < cfg.scales - 1 then
            macs = macs + 3 * coupling(c, f, side * side) + 3 * coupling(2 * c, 2 * f, (side / 2) ^ 2)
        else
            macs = macs + 4 * coupling(c, f, side * side)
        end
    end
    return 2 * macs / 1e9
end

--- Forward conv GFLOP per image of a Glow config: per step on a level's c x h x w maps, the 1x1
-- convolution (c^2) and the coupling's ConvNet (3x3 c/2 -> f, 1x1 f -> f, 3x3 f -> c), per pixel.
function M.glow_fwd_gflop_per_img(cfg)
    local macs, c, side = 0, cfg.channels, cfg.size
    for _ = 1, cfg.levels do
        local c4, pixels, f = 4 * c, (side / 2) ^ 2, cfg.width
        macs = macs + cfg.depth * pixels * (c4 * c4 + 9 * (c4 / 2) * f + f * f + 9 * f * c4)
        c, side = 2 * c, side / 2
    end
    return 2 * macs / 1e9
end

-- The config's network: Real NVP from its knobs, or the recipe a Glow config names.
local function build_model(cfg, o)
    if cfg.recipe then
        local run = require "nvp.run"
        local r = require("nvp.recipe").load(require("nvp.bench.peer").from_root(cfg.recipe))
        r.seed = o.seed or 0
        return run.build_model(r, {channels = cfg.channels, height = cfg.size, width = cfg.size}),
            {lr = 1e-3}
    end
    local mcfg = {channels = cfg.channels, size = cfg.size, scales = cfg.scales, width = cfg.width,
                  blocks = cfg.blocks, seed = o.seed or 0}
    if o.recompute ~= nil then mcfg.recompute = o.recompute end
    if o.refresh ~= nil then mcfg.refresh = o.refresh end
    return flow.RealNVP.new(mcfg), {lr = 1e-3, l2 = 5e-5, clip = 100}
end

--- The model, its optimiser (docs/REFERENCE.md 2.5; a Glow config: Adam 1e-3, as torch_glow.py) and
-- the fixed images of a run. o: config name, batch, seed, recompute, refresh (Real NVP's, when set).
function M.setup(o)
    local cfg = M.CONFIGS[o.config]
    local model, opt_cfg = build_model(cfg, o)
    local opt = optim.Adam.new(model, opt_cfg)
    local count = o.batch * cfg.channels * cfg.size * cfg.size
    local pixels = ffi.new("uint8_t[?]", count)
    local g = Rng.new(o.seed or 0)
    for i = 0, count - 1 do pixels[i] = math.floor(g:random() * 256) end
    return {cfg = cfg, model = model, opt = opt, pixels = pixels, batch = o.batch,
            noise = Rng.new((o.seed or 0) + 1)}
end

--- One training step of the protocol; returns bits/dim.
function M.train_step(run)
    local _, bpd = run.model:loss(run.pixels, run.batch, run.noise)
    run.model:zero_grad()
    run.model:backward()
    run.opt:step()
    return bpd
end

--- Interactive latency in evaluation mode, batch 1 (what the page and scripts call): milliseconds to
-- sample one image and to encode one (dequantise, logit, forward), medians of 2 reps + 1 timed calls
-- after an untimed one (experiments/torch_latency.py measures the peer alike).
function M.latency(run, reps)
    local model, g = run.model, Rng.new(7)
    local sample_t, encode_t = {}, {}
    for i = 0, 2 * reps + 1 do
        local t0 = now()
        model:sample(1, g, 1.0)
        if i > 0 then sample_t[#sample_t + 1] = (now() - t0) * 1e3 end
    end
    for i = 0, 2 * reps + 1 do
        local t0 = now()
        local y = model:preprocess(run.pixels, 1, g)
        model:forward(y)
        if i > 0 then encode_t[#encode_t + 1] = (now() - t0) * 1e3 end
    end
    io.stderr:write(("batch 1: sample %.2f ms, encode %.2f ms (medians)\n"):format(M.median(sample_t),
        M.median(encode_t)))
    return M.median(sample_t), M.median(encode_t)
end

--- o: config, batch, steps, warmup, sample_reps, seed, recompute; progress lines go to stderr.
function M.run(o)
    local run = M.setup(o)
    local times = {}
    for i = 1, o.warmup + o.steps do
        local t0 = now()
        local bpd = M.train_step(run)
        local dt = now() - t0
        if i > o.warmup then times[#times + 1] = dt end
        io.stderr:write(("train step %d: %.3f s, %.3f bits/dim\n"):format(i - 1, dt, bpd))
    end
    local rss = M.peak_rss_mb()

    run.model:evaluate()
    local sample1_ms, encode1_ms = M.latency(run, o.sample_reps)
    local stimes = {}
    local sample_rng = Rng.new((o.seed or 0) + 2)
    for i = 1, 1 + o.sample_reps do
        local t0 = now()
        run.model:sample(o.batch, sample_rng, 1.0)
        local dt = now() - t0
        if i > 1 then stimes[#stimes + 1] = dt end
        io.stderr:write(("sample batch %d: %.3f s\n"):format(i - 1, dt))
    end
    return {config = o.config, batch = o.batch, threads = nffi.C.nvp_get_threads(),
            params = run.model:parameter_count(),
            fwd_gflop_per_img = round((run.cfg.recipe and M.glow_fwd_gflop_per_img or M.fwd_gflop_per_img)(run.cfg), 4),
            train_img_per_s = round(o.batch / M.median(times), 3),
            sample_img_per_s = round(o.batch / M.median(stimes), 3),
            sample1_ms = round(sample1_ms, 2), encode1_ms = round(encode1_ms, 2),
            peak_rss_mb = math.floor(rss + 0.5), nvp = ffi.string(nffi.C.nvp_version()),
            cpu_path = ffi.string(nffi.C.nvp_cpu_path()), blas_core = ffi.string(nffi.C.nvp_blas_core())}
end

return M
