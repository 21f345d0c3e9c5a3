-- conv_bench.lua: GFLOP/s (2 * MACs / median time) of nvp_conv2d_forward and of the two backward
-- passes (data: dx only; weight: dw + db) at the reference conv shapes (batch 64), NCHW float32.
--
--   build/nvp experiments/conv_bench.lua [reps=7] [batch=64] [only=SUBSTRING] [gemm=true] [stat=min]
--   NVP_THREADS=1 build/nvp experiments/conv_bench.lua      -- one thread
--   NVP_FORCE_SCALAR=1 build/nvp experiments/conv_bench.lua reps=1 only=14x14   -- the reference
--
-- gemm=true also times the bare nvp_gemm of each conv's forward GEMM shape (M=Cout, N=batch*H*W,
-- K=Cin*k*k), the ceiling the im2col path works against.
--
-- `nvp bench kernels` (lua/nvp/bench/kernels.lua) is the maintained instrument: it takes the shapes
-- from the models themselves and puts sgemm beside all three passes. This script stays for its
-- compare=true mode (the two im2col batchings alternated in one process).
--
-- compare=true times both im2col variants (conv2d_im2col_avx2.c) in this one process, alternating
-- old/new every rep (the host is shared and noisy), and prints median GFLOP/s of each and new/old:
--   build/nvp experiments/conv_bench.lua compare=true reps=9
-- "old" = batched im2col + 2-thread OpenBLAS GEMMs, "new" = images split over OpenMP threads,
-- single-threaded GEMMs (switched with nvp_set_conv_algorithm: NVP_CONV_IM2COL_BATCHED / NVP_CONV_IM2COL).
-- algorithm=NAME runs the plain mode under that override (lua/nvp/bench/kernels.lua's ALGORITHMS).
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local C, check = nffi.C, nffi.check

local opts = ... or {}
local reps = opts.reps or 7
local batch = opts.batch or 64

pcall(ffi.cdef, [[
typedef struct nvp_bench_timespec { long tv_sec; long tv_nsec; } nvp_bench_timespec;
int clock_gettime(int clk, nvp_bench_timespec *ts);
]])
local ts = ffi.new("nvp_bench_timespec")
local function now()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function median(t)
    table.sort(t)
    local n = #t
    return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

-- Median wall time of fn() over `reps` runs after one untimed warm-up.
local function time_of(fn)
    fn()
    local t = {}
    for r = 1, reps do
        local t0 = now()
        fn()
        t[r] = now() - t0
    end
    if opts.stat == "min" then
        table.sort(t)
        return t[1]
    end
    return median(t)
end

-- {name, cin, cout, h, w, k}
local shapes = {
    {"small 3x3 16->16 @28x28", 16, 16, 28, 28, 3},
    {"small 3x3 32->32 @14x14", 32, 32, 14, 14, 3},
    {"small 1x1 16->16 @28x28", 16, 16, 28, 28, 1},
    {"first 3x3 2->16 @28x28 (n=1)", 2, 16, 28, 28, 3},
    {"first 3x3 4->32 @14x14 (n=2)", 4, 32, 14, 14, 3},
    {"cifar 3x3 64->64 @32x32", 64, 64, 32, 32, 3},
    {"cifar 3x3 128->128 @16x16", 128, 128, 16, 16, 3},
    {"cifar 1x1 64->64 @32x32", 64, 64, 32, 32, 1},
    {"cifar 1x1 128->128 @16x16", 128, 128, 16, 16, 1},
    {"fmnist 3x3 32->32 @28x28", 32, 32, 28, 28, 3},
    {"fmnist 3x3 64->64 @14x14", 64, 64, 14, 14, 3},
    {"fmnist 1x1 32->32 @28x28", 32, 32, 28, 28, 1},
    {"first 3x3 2->32 @28x28 (n=1)", 2, 32, 28, 28, 3},
    {"first 3x3 4->64 @14x14 (n=2)", 4, 64, 14, 14, 3},
    {"first 3x3 6->64 @32x32 (n=3)", 6, 64, 32, 32, 3},
    {"first 3x3 12->128 @16x16 (n=6)", 12, 128, 16, 16, 3},
}

if opts.compare then
    local algorithm = {[0] = 0, C.NVP_CONV_IM2COL_BATCHED, C.NVP_CONV_IM2COL} -- 0 = the rules, 1 = old, 2 = new
    local function set_path(v) check(C.nvp_set_conv_algorithm(algorithm[v])) end
    print(("conv_bench compare: batch %d, %d reps alternating old/new (median), %d threads"):format(batch, reps,
        C.nvp_get_threads()))
    print(("%-32s %17s %17s %17s"):format("shape", "fwd old/new", "bwd-data old/new", "bwd-wt old/new"))
    for _, s in ipairs(shapes) do
        local name, cin, cout, h, w, k = unpack(s)
        if not opts.only or name:find(opts.only, 1, true) then
            local g = require("nvp.rng").new(1)
            local x, wt, b = g:normal(T.empty{batch, cin, h, w}), g:normal(T.empty{cout, cin, k, k}), g:normal(T.empty{cout})
            local y, dy = T.empty{batch, cout, h, w}, g:normal(T.empty{batch, cout, h, w})
            local dx, dw, db = T.zeros(x.shape), T.zeros(wt.shape), T.zeros{cout}
            local flop = 2 * batch * cout * cin * k * k * h * w
            local ops = {
                function() check(C.nvp_conv2d_forward(y.data, nil, x.data, nil, wt.data, b.data, batch, cin, cout, h, w, k)) end,
                function() check(C.nvp_conv2d_backward(dx.data, nil, nil, dy.data, x.data, nil, wt.data, batch, cin, cout, h, w, k, 1)) end,
                function() check(C.nvp_conv2d_backward(nil, dw.data, db.data, dy.data, x.data, nil, wt.data, batch, cin, cout, h, w, k, 1)) end,
            }
            local cells = {}
            for _, fn in ipairs(ops) do
                local t = {{}, {}}
                for v = 1, 2 do set_path(v); fn() end -- warm-up both
                for r = 1, reps do
                    for v = (r % 2 == 1) and 1 or 2, (r % 2 == 1) and 2 or 1, (r % 2 == 1) and 1 or -1 do
                        set_path(v)
                        local t0 = now()
                        fn()
                        t[v][r] = now() - t0
                    end
                end
                local go, gn = flop / median(t[1]) * 1e-9, flop / median(t[2]) * 1e-9
                cells[#cells + 1] = ("%6.1f/%5.1f %4.2fx"):format(go, gn, gn / go)
            end
            set_path(0)
            print(("%-32s %s %s %s"):format(name, cells[1], cells[2], cells[3]))
            collectgarbage()
        end
    end
    return
end

require("nvp.bench.kernels").set_algorithm(opts.algorithm)
print(("conv_bench: batch %d, %d reps (%s), path %s, conv algorithm %s, %d threads"):format(batch, reps,
    opts.stat or "median", ffi.string(C.nvp_cpu_path()), opts.algorithm or "auto", C.nvp_get_threads()))
print(("%-32s %9s %9s %9s %9s  %s"):format("shape", "fwd", "bwd-data", "bwd-wt", opts.gemm and "gemm" or "",
    "GFLOP/s; ms fwd/data/wt"))
for _, s in ipairs(shapes) do
    local name, cin, cout, h, w, k = unpack(s)
    if not opts.only or name:find(opts.only, 1, true) then
        local g = require("nvp.rng").new(1)
        local x, wt, b = g:normal(T.empty{batch, cin, h, w}), g:normal(T.empty{cout, cin, k, k}), g:normal(T.empty{cout})
        local y, dy = T.empty{batch, cout, h, w}, g:normal(T.empty{batch, cout, h, w})
        local dx, dw, db = T.zeros(x.shape), T.zeros(wt.shape), T.zeros{cout}
        local flop = 2 * batch * cout * cin * k * k * h * w
        local tf = time_of(function()
            check(C.nvp_conv2d_forward(y.data, nil, x.data, nil, wt.data, b.data, batch, cin, cout, h, w, k))
        end)
        local td = time_of(function()
            check(C.nvp_conv2d_backward(dx.data, nil, nil, dy.data, x.data, nil, wt.data, batch, cin, cout, h, w, k, 1))
        end)
        local tw = time_of(function()
            check(C.nvp_conv2d_backward(nil, dw.data, db.data, dy.data, x.data, nil, wt.data, batch, cin, cout, h, w, k, 1))
        end)
        local gemm = ""
        if opts.gemm then
            local kd, np = cin * k * k, batch * h * w
            local col = g:normal(T.empty{kd * np})
            local tg = time_of(function()
                check(C.nvp_gemm(0, 0, cout, np, kd, 1.0, wt.data, kd, col.data, np, 0.0, y.data, np))
            end)
            gemm = ("%9.1f"):format(flop / tg * 1e-9)
        end
        print(("%-32s %9.1f %9.1f %9.1f %9s  %.1f/%.1f/%.1f"):format(name, flop / tf * 1e-9, flop / td * 1e-9,
            flop / tw * 1e-9, gemm, tf * 1e3, td * 1e3, tw * 1e3))
        collectgarbage()
    end
end
