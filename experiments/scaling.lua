-- experiments/scaling.lua: data-parallel training throughput at 1 and 2 ranks (1 thread each), with
-- and without overlapping the gradient allreduce with the backward, against 1 rank of 2 threads, and
-- the bytes reduced per step.
--
--   build/nvp experiments/scaling.lua [recipe=recipes/fmnist_small.lua] [batch=32] [steps=14] [warm=4]
--                                     [reps=3] [sync_batchnorm=false] [out=runs/scaling] [parts_reps=5]
--   reps=0: only the parts (below)
--
-- Each configuration is a real `nvp train` (`mpirun -np 2 ...` for two ranks), run `reps` times,
-- interleaved (the host is shared: alternating keeps slow minutes from landing on one configuration).
-- Throughput is the global batch times the steps after the first `warm`, over rank 0's training
-- clock for them (metrics.jsonl, one line per step); bytes per step and the time rank 0 waited for
-- its gradient reductions come from the same lines. Prints one Markdown table of medians.
--
-- On a host shared with other work, end-to-end runs measure mostly the neighbours; so the parts of
-- the model are also measured where they are steadier: the forward+backward time of one process
-- (1 thread) at the global batch and at its half, alternated, and the time of one allreduce of the
-- gradient bytes between 2 ranks (`mpirun -np 2`). Then 2 ranks on 2 free cores take
-- T(B/2) + T(allreduce) per step, and N ranks over a network T(B/N) + 2 (N-1)/N S / bandwidth
-- (ring allreduce, less what overlap hides).
local ffi = require "ffi"
local now = require "nvp.clock"
local Rng = require "nvp.rng"
local recipe_mod = require "nvp.recipe"
local run_mod = require "nvp.run"
local json = require "nvp.json"
local fs = require "nvp.fs"

local o = ... or {}
local recipe = o.recipe or "recipes/fmnist_small.lua"
local batch, steps, warm, reps = o.batch or 32, o.steps or 14, o.warm or 4, o.reps or 3
local out = o.out or "runs/scaling"
local exe = arg and arg[0] or "build/nvp"
local MPIRUN = "mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1 -np %d "

local CONFIGS = {
    {name = "1 rank", ranks = 1, overlap = false},
    {name = "2 ranks", ranks = 2, overlap = false},
    {name = "2 ranks, overlap", ranks = 2, overlap = true},
    -- the same two cores as one process: OpenMP threads against MPI ranks
    {name = "1 rank x 2 threads", ranks = 1, overlap = false, threads = 2},
}

local function median(t)
    local s = {}
    for i, v in ipairs(t) do s[i] = v end
    table.sort(s)
    local n = #s
    if n == 0 then return 0 / 0 end
    return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end

-- One training run; returns {img_per_s, bytes_per_step, wait_per_step, step_seconds}.
local function measure(cfg, rep)
    local dir = ("%s/%s-%d"):format(out, cfg.name:gsub("[^%w]+", "_"), rep)
    os.execute("rm -rf " .. dir)
    local cmd = ("%s train %s threads=%d train.batch=%d train.steps=%d train.log_every=1 "
        .. "train.checkpoint_every_minutes=100000 train.overlap_allreduce=%s train.sync_batchnorm=%s sample.n=0 "
        .. "data.heldout_images=100 run.dir=%s run.resume=false > %s.log 2>&1"):format(exe, recipe, cfg.threads or 1,
        batch, steps,
        tostring(cfg.overlap), tostring(o.sync_batchnorm == true), dir, dir)
    if cfg.ranks > 1 then cmd = MPIRUN:format(cfg.ranks) .. cmd end
    fs.mkdir_p(out)
    local ok = os.execute(cmd)
    if ok ~= 0 and ok ~= true then error(("scaling: %s failed, see %s.log"):format(cfg.name, dir), 0) end
    local lines = {}
    for line in io.lines(dir .. "/metrics.jsonl") do
        local m = json.decode(line)
        if m.kind == "train" then lines[m.step] = m end
    end
    local a, b = lines[warm], lines[steps]
    local n = steps - warm
    return {
        img_per_s = batch * n / (b.seconds - a.seconds),
        step_seconds = (b.seconds - a.seconds) / n,
        bytes_per_step = b.allreduce_bytes and (b.allreduce_bytes - a.allreduce_bytes) / n or 0,
        wait_per_step = b.allreduce_wait_seconds and (b.allreduce_wait_seconds - a.allreduce_wait_seconds) / n or 0,
    }
end

local results = {}
for rep = 1, reps do
    for i, cfg in ipairs(CONFIGS) do
        results[i] = results[i] or {}
        local r = measure(cfg, rep)
        results[i][rep] = r
        io.stderr:write(("rep %d, %s: %.2f img/s, %.3f s/step, %.0f bytes/step, waited %.4f s/step\n"):format(rep,
            cfg.name, r.img_per_s, r.step_seconds, r.bytes_per_step, r.wait_per_step))
    end
end

local function column(i, key)
    local t = {}
    for _, r in ipairs(results[i]) do t[#t + 1] = r[key] end
    return median(t)
end

if reps > 0 then
    print(("| configuration (%s, global batch %d, 1 thread per rank) | img/s | s/step | vs 1 rank "
        .. "| bytes reduced per step per rank | waited for reductions, s/step |"):format(recipe, batch))
    print("| --- | --- | --- | --- | --- | --- |")
    local base = column(1, "img_per_s")
    for i, cfg in ipairs(CONFIGS) do
        print(("| %s | %.2f | %.3f | %.2fx | %s | %.4f |"):format(cfg.name, column(i, "img_per_s"),
            column(i, "step_seconds"), column(i, "img_per_s") / base,
            cfg.ranks > 1 and ("%.0f"):format(column(i, "bytes_per_step")) or "-",
            column(i, "wait_per_step")))
    end
end

-- ---- the parts: compute at B and B/2 (this process, 1 thread), one allreduce of the gradients ----

local parts_reps = o.parts_reps or 5
require("nvp.ffi").check(ffi.C.nvp_set_threads(1))
local r = recipe_mod.load(recipe, {})
local side = recipe_mod.DATASET_SIDES[r.data.dataset]
local channels = r.data.dataset == "cifar10" and 3 or 1
local model = run_mod.build_model(r, {channels = channels, height = side, width = side})
local pixels = ffi.new("uint8_t[?]", batch * model.dims)
local g = Rng.new(1)
for i = 0, batch * model.dims - 1 do pixels[i] = math.floor(g:random() * 256) end
local noise = Rng.new(2)
local function step_time(n)
    local t0 = now()
    model:loss(pixels, n, noise)
    model:zero_grad()
    model:backward()
    return now() - t0
end
step_time(batch) step_time(batch / 2) -- warm-up (buffers of both shapes)
local whole, half = {}, {}
for i = 1, parts_reps do
    whole[i] = step_time(batch)
    half[i] = step_time(batch / 2)
end
local bytes = model:parameter_count() * 4
local script = ([[local ffi = require "ffi"; local C = require("nvp.ffi").C; local now = require "nvp.clock"
local d = require "nvp.dist"; d.init()
local n = %d; local buf = ffi.cast("float *", C.nvp_alloc(n * 4)); ffi.fill(buf, n * 4)
local t = {}
for i = 1, 21 do d.sum{0}; local t0 = now(); C.nvp_dist_allreduce_sum_f32(buf, n); t[i] = now() - t0 end
table.sort(t); if d.is_root() then print(("allreduce %%.6f"):format(t[11])) end]]):format(bytes / 4)
local p = io.popen(MPIRUN:format(2) .. exe .. " -e '" .. script .. "' 2>&1")
local text = p:read("*a")
p:close()
local allreduce = tonumber(text:match("allreduce ([%d.e+-]+)"))
if allreduce == nil then error("scaling: the allreduce timing failed: " .. text, 0) end
local t_whole, t_half = median(whole), median(half)
print()
print(("| part (median of %d, 1 thread) | seconds | img/s |"):format(parts_reps))
print("| --- | --- | --- |")
print(("| forward+backward, batch %d | %.3f | %.2f |"):format(batch, t_whole, batch / t_whole))
print(("| forward+backward, batch %d | %.3f | %.2f |"):format(batch / 2, t_half, batch / 2 / t_half))
print(("| allreduce of %d bytes, 2 ranks | %.4f | |"):format(bytes, allreduce))
print(("| 2 ranks on 2 free cores: T(B/2) + allreduce | %.3f | %.2f (%.2fx) |"):format(t_half + allreduce,
    batch / (t_half + allreduce), t_whole / (t_half + allreduce)))
