-- winograd_bench.lua: GFLOP/s of the 3x3 conv passes at the reference shapes (batch 64, NCHW float32),
-- counting DIRECT-convolution FLOPs (2 * N*Cout*Cin*9*H*W) for every path, so Winograd's saving shows:
--   im2col  nvp_conv2d_* with the per-image im2col forced (nvp_set_conv_algorithm(NVP_CONV_IM2COL))
--   wino2   nvp_conv2d_* with Winograd F(2x2,3x3) forced (NVP_CONV_WINOGRAD_F2);  wino4  F(4x4,3x3);
--   wino7   F(7x7,3x3);  wino8  F(8x8,3x3)
--   auto    nvp_conv2d_* with the router's rules (NVP_CONV_AUTO)
--   sgemm   one nvp_gemm at the forward's M = Cout, N = batch*H*W, K = Cin*9 (all threads)
-- Passes: fwd (y), data (dx only), filter (dw + db). Every rep runs each path once, in rotating
-- order (the host is shared and noisy); the table shows medians.
--
--   build/nvp experiments/winograd_bench.lua [reps=7] [batch=64] [only=SUBSTRING] [clock=cpu]
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
-- clock=cpu: process CPU time (CLOCK_PROCESS_CPUTIME_ID) instead of wall time; on a shared host
-- with NVP_THREADS=1 it measures the work itself, not the time the process was descheduled.
local clock_id = opts.clock == "cpu" and 2 or 1 -- else CLOCK_MONOTONIC
local function now()
    ffi.C.clock_gettime(clock_id, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function median(t)
    table.sort(t)
    local n = #t
    return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

-- {name, cin, cout, h, w}
local shapes = {
    {"cifar 64->64 @32x32", 64, 64, 32, 32},
    {"cifar 128->128 @16x16", 128, 128, 16, 16},
    {"fmnist 32->32 @28x28", 32, 32, 28, 28},
    {"fmnist 64->64 @14x14", 64, 64, 14, 14},
    {"small 16->16 @28x28", 16, 16, 28, 28},
    {"small 32->32 @14x14", 32, 32, 14, 14},
    {"w24 24->24 @28x28", 24, 24, 28, 28},
    {"first 2->32 @28x28", 2, 32, 28, 28},
    {"first 4->64 @14x14", 4, 64, 14, 14},
    {"first 6->64 @32x32", 6, 64, 32, 32},
    {"first 12->128 @16x16", 12, 128, 16, 16},
    {"last 64->12 @16x16", 64, 12, 16, 16},
    {"last 64->6 @32x32", 64, 6, 32, 32},
}

local paths = {"im2col", "wino2", "wino4", "wino7", "wino8", "auto"}
print(("winograd_bench: batch %d, %d reps (median, rotating order), %d threads, %s time, direct-conv GFLOP/s"):format(
    batch, reps, C.nvp_get_threads(), opts.clock == "cpu" and "cpu" or "wall"))
print(("%-24s %-7s %7s %7s %7s %7s %7s %7s %7s  %s"):format("shape", "pass", "im2col", "wino2", "wino4", "wino7",
    "wino8", "auto",
    "sgemm",
    "best wino/sgemm"))
for _, s in ipairs(shapes) do
    local name, cin, cout, h, w = unpack(s)
    if not opts.only or name:find(opts.only, 1, true) then
        local g = require("nvp.rng").new(1)
        local x, wt, b = g:normal(T.empty{batch, cin, h, w}), g:normal(T.empty{cout, cin, 3, 3}), g:normal(T.empty{cout})
        local y, dy = T.empty{batch, cout, h, w}, g:normal(T.empty{batch, cout, h, w})
        local dx, dw, db = T.zeros(x.shape), T.zeros(wt.shape), T.zeros{cout}
        local flop = 2 * batch * cout * cin * 9 * h * w
        local algorithm = {im2col = C.NVP_CONV_IM2COL, wino2 = C.NVP_CONV_WINOGRAD_F2, wino4 = C.NVP_CONV_WINOGRAD_F4,
                           wino7 = C.NVP_CONV_WINOGRAD_F7, wino8 = C.NVP_CONV_WINOGRAD_F8, auto = C.NVP_CONV_AUTO}
        local function conv(pass, path)
            local f
            if pass == "fwd" then
                f = function() check(C.nvp_conv2d_forward(y.data, nil, x.data, nil, wt.data, b.data, batch, cin, cout, h, w, 3)) end
            elseif pass == "data" then
                f = function() check(C.nvp_conv2d_backward(dx.data, nil, nil, dy.data, x.data, nil, wt.data, batch, cin, cout, h, w, 3, 1)) end
            else
                f = function() check(C.nvp_conv2d_backward(nil, dw.data, db.data, dy.data, x.data, nil, wt.data, batch, cin, cout, h, w, 3, 1)) end
            end
            local v = algorithm[path]
            return function() check(C.nvp_set_conv_algorithm(v)); f(); check(C.nvp_set_conv_algorithm(C.NVP_CONV_AUTO)) end
        end
        local kd, np = cin * 9, batch * h * w
        local col = g:normal(T.empty{kd * np})
        local gemm = function() check(C.nvp_gemm(0, 0, cout, np, kd, 1.0, wt.data, kd, col.data, np, 0.0, y.data, np)) end
        local sg = {}
        gemm()
        for r = 1, reps do
            local t0 = now(); gemm(); sg[r] = now() - t0
        end
        local gs = flop / median(sg) * 1e-9
        col = nil
        collectgarbage()
        for _, pass in ipairs{"fwd", "data", "filter"} do
            local fns, t = {}, {}
            for j, p in ipairs(paths) do fns[j] = conv(pass, p); t[j] = {}; fns[j]() end
            for r = 1, reps do
                for q = 0, #paths - 1 do
                    local j = (r + q - 1) % #paths + 1
                    local t0 = now(); fns[j](); t[j][r] = now() - t0
                end
            end
            local gf = {}
            for j = 1, #paths do gf[j] = flop / median(t[j]) * 1e-9 end
            print(("%-24s %-7s %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f  %.2fx"):format(name, pass, gf[1], gf[2], gf[3],
                gf[4], gf[5], gf[6], gs, math.max(gf[2], gf[3], gf[4], gf[5]) / gs))
        end
        collectgarbage()
    end
end
