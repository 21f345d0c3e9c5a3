-- rans_bench.lua: throughput of the rANS coder (engine/src/kernels/rans.c) in symbols/s, push and
-- pop, one thread (the coder is serial), CPU time of this process (the host is shared):
--   cdf        categorical over 256 symbols at precision 16, one FFI call per symbol
--   uniform    uniform over 256 (dequantisation noise, initial bits), one call per symbol
--   bucket     discretised Gaussian, 1024 buckets of 1/64 at precision 16, one call per symbol
--   buckets    the same, batched: one call for n symbols (what a flow layer's latents would use)
--   buckets24  batched, 2^20 buckets of 2^-12 on [-128, 128) at precision 24
-- Every rep checks the pops give back what was pushed. Medians over reps.
--
--   build/nvp experiments/rans_bench.lua [n=200000] [reps=5] [out=experiments/results/compress.md]
local ffi = require "ffi"
local rans = require "nvp.compress.rans"

local opts = ... or {}
local n = opts.n or 200000
local reps = opts.reps or 5

pcall(ffi.cdef, [[
typedef struct nvp_bench_timespec { long tv_sec; long tv_nsec; } nvp_bench_timespec;
int clock_gettime(int clk, nvp_bench_timespec *ts);
]])
local ts = ffi.new("nvp_bench_timespec")
local function cpu_now()
    ffi.C.clock_gettime(2, ts)   -- CLOCK_PROCESS_CPUTIME_ID
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function median(t)
    table.sort(t)
    local k = #t
    return k % 2 == 1 and t[(k + 1) / 2] or (t[k / 2] + t[k / 2 + 1]) / 2
end

local page = dofile("experiments/results_page.lua")

math.randomseed(1)
local syms = ffi.new("int32_t[?]", n)
local mean, scale = ffi.new("float[?]", n), ffi.new("float[?]", n)
local out = ffi.new("int32_t[?]", n)
local p = {}
for i = 1, 256 do p[i] = math.exp(-((i - 128) / 30) ^ 2) + 0.01 end
local cdf = rans.quantize(p, 16)
local grid = {lo = -8, width = 1 / 64, n = 1024, precision = 16}
local grid24 = {lo = -128, width = 2 ^ -12, n = 2 ^ 20, precision = 24}

-- Each case: fill(i) sets up the symbols, push(m), pop(m) -> checks; n symbols each way.
local cases = {
    {name = "cdf", what = "categorical, 256 symbols, p = 16, one call per symbol",
     fill = function() for i = 0, n - 1 do syms[i] = math.random(0, 255) end end,
     push = function(m) for i = 0, n - 1 do m:push_cdf(syms[i], cdf, 16, 256) end end,
     pop = function(m) for i = n - 1, 0, -1 do out[i] = m:pop_cdf(cdf, 16, 256) end end},
    {name = "uniform", what = "uniform over 256, one call per symbol",
     fill = function() for i = 0, n - 1 do syms[i] = math.random(0, 255) end end,
     push = function(m) for i = 0, n - 1 do m:push_uniform(syms[i], 256) end end,
     pop = function(m) for i = n - 1, 0, -1 do out[i] = m:pop_uniform(256) end end},
    {name = "bucket", what = "Gaussian, 1024 buckets of 1/64, p = 16, one call per symbol",
     fill = function()
         for i = 0, n - 1 do
             mean[i], scale[i] = math.random() * 6 - 3, math.exp(math.random() * 4 - 3)
             syms[i] = math.random(0, 1023)
         end
     end,
     push = function(m) for i = 0, n - 1 do m:push_bucket(syms[i], "gaussian", mean[i], scale[i], grid) end end,
     pop = function(m) for i = n - 1, 0, -1 do out[i] = m:pop_bucket("gaussian", mean[i], scale[i], grid) end end},
    {name = "buckets", what = "Gaussian, 1024 buckets of 1/64, p = 16, batched (one call for n)",
     push = function(m) m:push_buckets(syms, mean, scale, n, "gaussian", grid) end,
     pop = function(m) m:pop_buckets(out, mean, scale, n, "gaussian", grid) end},
    {name = "buckets24", what = "Gaussian, 2^20 buckets of 2^-12, p = 24, batched",
     fill = function()
         for i = 0, n - 1 do
             mean[i], scale[i] = math.random() * 6 - 3, math.exp(math.random() * 4 - 3)
             syms[i] = 2 ^ 19 + math.floor((mean[i] + scale[i] * (math.random() * 2 - 1)) * 4096)
         end
     end,
     push = function(m) m:push_buckets(syms, mean, scale, n, "gaussian", grid24) end,
     pop = function(m) m:pop_buckets(out, mean, scale, n, "gaussian", grid24) end},
}

local rows = {}
for _, case in ipairs(cases) do
    if case.fill then case.fill() end
    local tpush, tpop, bits = {}, {}, 0
    for r = 1, reps do
        local m = rans.new()
        local t0 = cpu_now()
        case.push(m)
        local t1 = cpu_now()
        bits = m:bits()
        case.pop(m)
        local t2 = cpu_now()
        for i = 0, n - 1 do
            if out[i] ~= syms[i] then error(("%s rep %d: symbol %d decoded %d, pushed %d"):format(case.name, r, i,
                out[i], syms[i])) end
        end
        assert(m:bits() == 0, case.name .. ": message not empty after the pops")
        tpush[r], tpop[r] = t1 - t0, t2 - t1
    end
    local row = {case.name, case.what, n / median(tpush), n / median(tpop), bits / n}
    rows[#rows + 1] = row
    print(("%-10s push %6.2f M symbols/s  pop %6.2f M symbols/s  (%.2f bits/symbol)"):format(row[1], row[3] / 1e6,
        row[4] / 1e6, row[5]))
end

local cpu = page.cpu_model()
print("CPU: " .. cpu .. "; " .. reps .. " reps of " .. n .. " symbols, medians, process CPU time")

if opts.out then
    local lines = {
        ("Measured %s UTC by `build/nvp experiments/rans_bench.lua n=%d reps=%d out=%s`; CPU: %s; one thread, "
            .. "process CPU time, medians of %d reps; every rep checks that the pops give back the pushes.")
            :format(os.date("!%Y-%m-%d %H:%M"), n, reps, opts.out, cpu, reps),
        "",
        "| case | what | push (M symbols/s) | pop (M symbols/s) | bits/symbol |",
        "| --- | --- | --- | --- | --- |",
    }
    for _, r in ipairs(rows) do
        lines[#lines + 1] = ("| `%s` | %s | %.2f | %.2f | %.2f |"):format(r[1], r[2], r[3] / 1e6, r[4] / 1e6, r[5])
    end
    page.replace_section(opts.out, "rans_bench", lines)
    print("wrote " .. opts.out)
end
