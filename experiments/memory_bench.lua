-- experiments/memory_bench.lua: peak RSS and training throughput with recompute-by-inverse off and
-- on (model.recompute), side by side. Peak RSS is per process, so every (config, recompute) pair runs
-- in a child process of this script, the pairs alternating off/on so that load from other users of
-- the machine falls on both; the parent prints one Markdown row per child and the on/off ratios.
--
--   build/nvp experiments/memory_bench.lua [configs=fmnist-small,cifar-ref] [rounds=1] [batch=64]
--                                          [steps=10] [warmup=3] [cifar_steps=2] [cifar_warmup=1]
--
-- A child (child=true config=NAME recompute=true|false ...) runs docs/REFERENCE.md's training step on
-- random images (dequantise + logit + forward + NLL + backward + clipping + Adam, batch norm in
-- training mode) and prints one JSON line: median step time, peak RSS (getrusage ru_maxrss, read
-- right after training as docs/REFERENCE.md does), resident MB after step 2 and after the last step
-- (/proc/self/statm: flat when the step allocates nothing), and the engine allocations
-- (nvp_alloc_stats) of every step after the first.
local ffi = require "ffi"
local json = require "nvp.json"
local flow = require "nvp.flow"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local now = require "nvp.clock"

local opts = ... or {}

local CONFIGS = {
    ["cifar-ref"] = {channels = 3, size = 32, scales = 2, width = 64, blocks = 8},
    ["fmnist-small"] = {channels = 1, size = 28, scales = 2, width = 32, blocks = 4},
}
-- the PyTorch peer's peak RSS (MB), docs/REFERENCE.md section 4, 2 threads, both implementations
local PEER_MB = {["cifar-ref"] = {7197, 8869}, ["fmnist-small"] = {1692, 2012}}

pcall(ffi.cdef, [[
typedef struct nvp_mem_rusage { long ru_utime[2]; long ru_stime[2]; long ru_maxrss; long rest[13]; } nvp_mem_rusage;
int getrusage(int who, nvp_mem_rusage *usage);
int getpid(void);
]])

local rusage = ffi.new("nvp_mem_rusage")

local function peak_rss_mb()
    ffi.C.getrusage(0, rusage)
    return tonumber(rusage.ru_maxrss) / 1024
end

-- CPU seconds (user + system, all threads) used so far: less disturbed by other users of a shared
-- machine than wall time, so the on/off ratio of CPU per step is the steadier cost figure.
local function cpu_seconds()
    ffi.C.getrusage(0, rusage)
    return tonumber(rusage.ru_utime[0]) + tonumber(rusage.ru_utime[1]) * 1e-6 + tonumber(rusage.ru_stime[0])
        + tonumber(rusage.ru_stime[1]) * 1e-6
end

local function resident_mb()
    local f = assert(io.open("/proc/self/statm"))
    local _, resident = f:read("*n", "*n")
    f:close()
    return resident * 4096 / 2 ^ 20
end

local function median(t)
    local s = {}
    for i, v in ipairs(t) do s[i] = v end
    table.sort(s)
    local n = #s
    return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end

local function truthy(v) return v == true or v == "true" or v == 1 or v == "1" end

local function child()
    local name = opts.config
    local cfg = assert(CONFIGS[name], "config must be cifar-ref or fmnist-small")
    local batch, steps, warmup = tonumber(opts.batch) or 64, tonumber(opts.steps) or 10, tonumber(opts.warmup) or 3
    local full = {recompute = truthy(opts.recompute), seed = 0}
    for k, v in pairs(cfg) do full[k] = v end
    local model = flow.RealNVP.new(full)
    local opt = optim.Adam.new(model, {lr = 1e-3, l2 = 5e-5, clip = 100})
    local d = cfg.channels * cfg.size * cfg.size
    local pixels = ffi.new("uint8_t[?]", batch * d)
    local g = Rng.new(0)
    for i = 0, batch * d - 1 do pixels[i] = math.floor(g:random() * 256) end
    local noise = Rng.new(1)
    local times, cpu, rss_step2, allocs_after_first = {}, {}, nil, 0
    for i = 1, warmup + steps do
        local c0 = T.alloc_stats()
        local t0, u0 = now(), cpu_seconds()
        model:loss(pixels, batch, noise)
        model:zero_grad()
        model:backward()
        opt:step()
        local dt, du = now() - t0, cpu_seconds() - u0
        if i > 1 then allocs_after_first = allocs_after_first + (T.alloc_stats() - c0) end
        if i == 2 then rss_step2 = resident_mb() end
        if i > warmup then times[#times + 1], cpu[#cpu + 1] = dt, du end
        io.stderr:write(("  %s recompute=%s step %d: %.3f s, %.3f CPU s\n"):format(name, tostring(full.recompute), i,
            dt, du))
    end
    print(json.encode{config = name, recompute = full.recompute, batch = batch, threads = nffi.C.nvp_get_threads(),
                      steps = steps, train_img_per_s = batch / median(times), cpu_s_per_step = median(cpu),
                      peak_rss_mb = peak_rss_mb(),
                      rss_after_step2_mb = rss_step2, rss_after_last_mb = resident_mb(),
                      allocations_after_step1 = allocs_after_first})
end

local function exe()
    local p = io.popen("readlink /proc/" .. ffi.C.getpid() .. "/exe")
    local path = p:read("*l")
    p:close()
    return path
end

local function parent()
    local script = arg and arg[1] or "experiments/memory_bench.lua"
    local configs = {}
    for c in (opts.configs or "fmnist-small,cifar-ref"):gmatch("[^,]+") do configs[#configs + 1] = c end
    local rounds, batch = tonumber(opts.rounds) or 1, tonumber(opts.batch) or 64
    local nvp = exe()
    print("| config | recompute | round | train img/s | CPU s/step | peak RSS MB | RSS after step 2 / last MB | "
        .. "allocations after step 1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    local results = {}
    for _, name in ipairs(configs) do
        local cifar = name == "cifar-ref"
        local steps = cifar and (opts.cifar_steps or 2) or (opts.steps or 10)
        local warmup = cifar and (opts.cifar_warmup or 1) or (opts.warmup or 3)
        results[name] = {[false] = {}, [true] = {}}
        for round = 1, rounds do
            -- alternate which mode goes first, so a load change does not always hit the same one
            local order = round % 2 == 1 and {false, true} or {true, false}
            for _, recompute in ipairs(order) do
                local cmd = ("%s %s child=true config=%s recompute=%s batch=%d steps=%d warmup=%d"):format(nvp, script,
                    name, tostring(recompute), batch, steps, warmup)
                local p = assert(io.popen(cmd))
                local line = p:read("*a")
                p:close()
                local r = json.decode(line:match("(%b{})%s*$") or error("child printed no result: " .. cmd))
                table.insert(results[name][recompute], r)
                print(("| %s | %s | %d | %.2f | %.1f | %.0f | %.0f / %.0f | %d |"):format(name, tostring(recompute),
                    round, r.train_img_per_s, r.cpu_s_per_step, r.peak_rss_mb, r.rss_after_step2_mb,
                    r.rss_after_last_mb, r.allocations_after_step1))
                io.stdout:flush()
            end
        end
    end
    print()
    for _, name in ipairs(configs) do
        local off, on = results[name][false], results[name][true]
        local function med(list, key)
            local v = {}
            for i, r in ipairs(list) do v[i] = r[key] end
            return median(v)
        end
        local peer = PEER_MB[name]
        print(("%s: recompute on/off: peak RSS %.0f / %.0f MB = %.2f, train img/s %.2f / %.2f = %.2f, "
            .. "CPU s/step %.1f / %.1f = %.2f; "
            .. "peak RSS / peer's (%d - %d MB): off %.2f - %.2f, on %.2f - %.2f"):format(name,
            med(on, "peak_rss_mb"), med(off, "peak_rss_mb"), med(on, "peak_rss_mb") / med(off, "peak_rss_mb"),
            med(on, "train_img_per_s"), med(off, "train_img_per_s"),
            med(on, "train_img_per_s") / med(off, "train_img_per_s"), med(on, "cpu_s_per_step"),
            med(off, "cpu_s_per_step"), med(on, "cpu_s_per_step") / med(off, "cpu_s_per_step"), peer[1], peer[2],
            med(off, "peak_rss_mb") / peer[2], med(off, "peak_rss_mb") / peer[1],
            med(on, "peak_rss_mb") / peer[2], med(on, "peak_rss_mb") / peer[1]))
    end
end

if truthy(opts.child) then child() else parent() end
