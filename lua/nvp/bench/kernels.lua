-- nvp.bench.kernels: every convolution shape of the reference networks, forward and both backward
-- passes, in GFLOP/s counting direct-convolution FLOPs (2 Cout Cin k^2 H W per image, whatever
-- algorithm the engine picks, so Winograd's saving shows), beside OpenBLAS sgemm (nvp_gemm) at the
-- same M, N, K (M = Cout, N = batch H W, K = Cin k^2; the im2col GEMM of each pass, transposed as
-- sgemm_peak.c does) and beside the machine's sgemm ceiling (sgemm_peak.c's square shapes, ported:
-- nvp_gemm is cblas_sgemm, run here at the engine's thread count).
--
-- The shapes come from the model: a RealNVP of the config runs one forward (batch 1, evaluation
-- mode) with its convolutions' forward wrapped to record their input shapes; identical shapes are
-- merged with their call count per forward pass.
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local flow = require "nvp.flow"
local WNConv2d = require "nvp.layers.wnconv"
local race = require "nvp.bench.race"
local C, check = nffi.C, nffi.check

local M = {}

-- Visit every module under `mod` with its dotted name.
local function each_module(mod, fn, prefix)
    fn(mod, prefix)
    for _, child in ipairs(mod._children or {}) do
        each_module(child.module, fn, prefix == "" and child.name or prefix .. "." .. child.name)
    end
end

--- The conv shapes of a config, in first-call order: {cin, cout, h, w, k, calls, roles = {...}}.
function M.conv_shapes(config)
    local cfg = race.CONFIGS[config]
    local model = flow.RealNVP.new{channels = cfg.channels, size = cfg.size, scales = cfg.scales,
                                   width = cfg.width, blocks = cfg.blocks}
    model:evaluate()
    local shapes, by_key = {}, {}
    each_module(model, function(mod, name)
        if getmetatable(mod) ~= WNConv2d then return end
        local role = name:match("st%.(.*)$") or name
        role = role:gsub("block%d+%.", "block.")
        local function record(self, x)
            local key = table.concat({self.cin, self.cout, x.shape[3], x.shape[4], self.k}, "x")
            local s = by_key[key]
            if s == nil then
                s = {cin = self.cin, cout = self.cout, h = x.shape[3], w = x.shape[4], k = self.k, calls = 0,
                     roles = {}, role_seen = {}}
                by_key[key] = s
                shapes[#shapes + 1] = s
            end
            s.calls = s.calls + 1
            if not s.role_seen[role] then
                s.role_seen[role] = true
                s.roles[#s.roles + 1] = role
            end
        end
        mod.forward = function(self, x, ...)
            record(self, x)
            return WNConv2d.forward(self, x, ...)
        end
        mod.forward_act = function(self, x, ...) -- the convs after a batch norm + ReLU
            record(self, x)
            return WNConv2d.forward_act(self, x, ...)
        end
    end, "")
    local x = T.empty{1, cfg.channels, cfg.size, cfg.size}
    Rng.new(0):normal(x)
    model:forward(x)
    return shapes
end

-- Median seconds of each function in `fns` over `reps` rounds, one warm-up call each first; the
-- functions alternate within a round so that host noise hits them alike.
local function median_times(fns, reps, now)
    local times = {}
    for i, fn in ipairs(fns) do
        fn()
        times[i] = {}
    end
    for _ = 1, reps do
        for i, fn in ipairs(fns) do
            local t0 = now()
            fn()
            times[i][#times[i] + 1] = now() - t0
        end
    end
    local out = {}
    for i = 1, #fns do out[i] = race.median(times[i]) end
    return out
end

--- sgemm_peak.c's square shapes: median GFLOP/s of nvp_gemm at size x size x size, for each size.
function M.ceiling(sizes, reps, now)
    local out = {}
    local g = Rng.new(3)
    for _, n in ipairs(sizes) do
        local a, b, c = g:normal(T.empty{n, n}), g:normal(T.empty{n, n}), T.empty{n, n}
        local t = median_times({function() check(C.nvp_gemm(0, 0, n, n, n, 1.0, a.data, n, b.data, n, 0.0, c.data, n)) end},
            reps, now)
        out[#out + 1] = {size = n, gflops = 2 * n ^ 3 / t[1] * 1e-9}
        collectgarbage()
    end
    return out
end

-- Which algorithm the engine runs for a conv pass.
local function path_of(pass, n, s)
    return ffi.string(C.nvp_conv2d_path_name(pass, n, s.cin, s.cout, s.h, s.w, s.k))
end

--- The conv algorithm override's values (nvp_conv_algorithm in nvp.h) by name.
M.ALGORITHMS = {auto = C.NVP_CONV_AUTO, direct = C.NVP_CONV_DIRECT, im2col = C.NVP_CONV_IM2COL,
                im2col_batched = C.NVP_CONV_IM2COL_BATCHED, winograd = C.NVP_CONV_WINOGRAD,
                winograd_f2 = C.NVP_CONV_WINOGRAD_F2, winograd_f4 = C.NVP_CONV_WINOGRAD_F4,
                winograd_f7 = C.NVP_CONV_WINOGRAD_F7, winograd_f8 = C.NVP_CONV_WINOGRAD_F8}
local ALGORITHM_NAMES = {}
for name, v in pairs(M.ALGORITHMS) do ALGORITHM_NAMES[v] = name end

--- Set the conv algorithm override by name (nil: leave it); raises on an unknown name.
function M.set_algorithm(name)
    if name == nil then return end
    local v = M.ALGORITHMS[name]
    if v == nil then
        local names = {}
        for k in pairs(M.ALGORITHMS) do names[#names + 1] = k end
        table.sort(names)
        error(("unknown conv algorithm '%s' (valid: %s)"):format(name, table.concat(names, ", ")), 2)
    end
    check(C.nvp_set_conv_algorithm(v), 2)
end

--- Time one shape at batch n: {fwd = {conv, sgemm}, data = {...}, weight = {...}} in GFLOP/s.
function M.measure(s, n, reps, now)
    local g = Rng.new(1)
    local cin, cout, h, w, k = s.cin, s.cout, s.h, s.w, s.k
    local x, wt, b = g:normal(T.empty{n, cin, h, w}), g:normal(T.empty{cout, cin, k, k}), g:normal(T.empty{cout})
    local y, dy = T.empty{n, cout, h, w}, g:normal(T.empty{n, cout, h, w})
    local dx, dw, db = T.zeros(x.shape), T.zeros(wt.shape), T.zeros{cout}
    local mm, nn, kk = cout, n * h * w, cin * k * k
    local col, dcol = g:normal(T.empty{kk, nn}), T.empty{kk, nn}
    local ymat, dwmat = T.empty{mm, nn}, T.empty{mm, kk}
    local flop = 2 * mm * nn * kk
    local t = median_times({
        function() check(C.nvp_conv2d_forward(y.data, nil, x.data, nil, wt.data, b.data, n, cin, cout, h, w, k)) end,
        -- Y (M,N) = W (M,K) col (K,N)
        function() check(C.nvp_gemm(0, 0, mm, nn, kk, 1.0, wt.data, kk, col.data, nn, 0.0, ymat.data, nn)) end,
        function() check(C.nvp_conv2d_backward(dx.data, nil, nil, dy.data, x.data, nil, wt.data, n, cin, cout, h, w, k, 0)) end,
        -- dcol (K,N) = W^T dY (M,N)
        function() check(C.nvp_gemm(1, 0, kk, nn, mm, 1.0, wt.data, kk, dy.data, nn, 0.0, dcol.data, nn)) end,
        function() check(C.nvp_conv2d_backward(nil, dw.data, db.data, dy.data, x.data, nil, wt.data, n, cin, cout, h, w, k, 1)) end,
        -- dW (M,K) = dY (M,N) col^T
        function() check(C.nvp_gemm(0, 1, mm, kk, nn, 1.0, dy.data, nn, col.data, nn, 0.0, dwmat.data, kk)) end,
    }, reps, now)
    local function rate(i) return flop / t[i] * 1e-9 end
    return {m = mm, n = nn, k = kk, flop = flop,
            fwd = {conv = rate(1), sgemm = rate(2), seconds = t[1], path = path_of(0, n, s)},
            data = {conv = rate(3), sgemm = rate(4), seconds = t[3], path = path_of(1, n, s)},
            weight = {conv = rate(5), sgemm = rate(6), seconds = t[5], path = path_of(2, n, s)}}
end

local function shape_name(s)
    return ("%dx%d %d->%d @%dx%d"):format(s.k, s.k, s.cin, s.cout, s.h, s.w)
end

--- o: configs (list of names), batch, reps, ceiling (list of square sizes), only (substring of a
-- shape name), clock ("wall" or "cpu": process CPU time, for a busy host at threads=1), algorithm (a
-- conv algorithm override by name, M.ALGORITHMS), cpu_path ("scalar", "avx2", "avx512"). Prints the
-- table; returns the rows.
function M.run(o)
    if o.cpu_path then check(C.nvp_set_cpu_path(o.cpu_path), 2) end
    M.set_algorithm(o.algorithm)
    local threads = C.nvp_get_threads()
    local now = race.clock_named(o.clock)
    print(("nvp bench kernels: batch %d, median of %d reps, %d threads, %s path, conv algorithm %s, %s clock, OpenBLAS kernels %s"):format(
        o.batch, o.reps, threads, ffi.string(C.nvp_cpu_path()), ALGORITHM_NAMES[tonumber(C.nvp_get_conv_algorithm())],
        o.clock or "wall", ffi.string(C.nvp_blas_core())))
    print("GFLOP/s count direct-convolution FLOPs (2 M N K); sgemm = nvp_gemm (OpenBLAS) at the pass's im2col M, N, K")
    local peak = 0
    for _, c in ipairs(M.ceiling(o.ceiling, o.reps, now)) do
        print(("sgemm ceiling (sgemm_peak.c's square shape, ported): %d^3 %.1f GFLOP/s"):format(c.size, c.gflops))
        peak = math.max(peak, c.gflops)
    end
    local rows = {}
    for _, config in ipairs(o.configs) do
        print(("\n%s (calls = per forward pass)"):format(config))
        print(("%-22s %5s %5s %7s %5s  %-20s %-20s %-20s %s"):format("conv", "calls", "M", "N", "K",
            "fwd conv/sgemm", "bwd-data conv/sgemm", "bwd-wt conv/sgemm", "roles"))
        local step_flop, step_time, step_gemm_time = 0, 0, 0
        for _, s in ipairs(M.conv_shapes(config)) do
            local name = shape_name(s)
            if not o.only or name:find(o.only, 1, true) then
                local r = M.measure(s, o.batch, o.reps, now)
                r.config, r.name, r.calls, r.roles = config, name, s.calls, s.roles
                rows[#rows + 1] = r
                local cells = {}
                for _, pass in ipairs{"fwd", "data", "weight"} do
                    local p = r[pass]
                    cells[#cells + 1] = ("%5.1f/%5.1f %4.2fx%s"):format(p.conv, p.sgemm, p.conv / p.sgemm,
                        p.path and (" " .. p.path) or "")
                    step_flop = step_flop + s.calls * r.flop
                    step_time = step_time + s.calls * p.seconds
                    step_gemm_time = step_gemm_time + s.calls * r.flop / (p.sgemm * 1e9)
                end
                print(("%-22s %5d %5d %7d %5d  %-20s %-20s %-20s %s"):format(name, s.calls, r.m, r.n, r.k, cells[1],
                    cells[2], cells[3], table.concat(s.roles, ",")))
                collectgarbage()
            end
        end
        if step_time > 0 then
            print(("%s: the convs of one training step (every pass x calls): %.2f s at %.1f GFLOP/s; as sgemm at "
                .. "the same shapes %.2f s (%.1f GFLOP/s); ceiling %.1f GFLOP/s"):format(config, step_time,
                step_flop / step_time * 1e-9, step_gemm_time, step_flop / step_gemm_time * 1e-9, peak))
        end
    end
    return rows, peak
end

return M
