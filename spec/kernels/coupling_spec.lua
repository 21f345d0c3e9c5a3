-- The fused affine coupling (nvp_coupling_*, nvp_checker_mask): a double-precision Lua reference,
-- the round trip, the log-det against a brute-force Jacobian, the backward against finite
-- differences, and the AVX2 path against the scalar one (including its vector exp and tanh).
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local has_avx2 = NVP.nvp_cpu_supports("avx2") ~= 0
local paths = has_avx2 and {"_ref", "_avx2", ""} or {"_ref", ""}

-- ---- the Lua reference (lua/nvp/layers/coupling.md), in double ---------------------------------

local function dims(c, kind) -- channels of s (and lam), of st
    if kind == 0 then return c, 2 * c end
    return c / 2, c
end

local function changing(xc, i, j, c, kind, parity)
    if kind == 0 then return (i + j + parity) % 2 == 0 end
    return (parity == 0) == (xc < c / 2)
end

-- x, st, lam: 0-based arrays (Lua tables or float*). Returns y (0-based table), logdet (0-based).
local function ref_forward(x, st, lam, n, c, h, w, kind, parity)
    local ct, cst = dims(c, kind)
    local hw, y, logdet = h * w, {}, {}
    for b = 0, n - 1 do
        local sum = 0
        for xc = 0, c - 1 do
            local k = xc % ct
            for i = 0, h - 1 do
                for j = 0, w - 1 do
                    local p = i * w + j
                    local ix = (b * c + xc) * hw + p
                    if changing(xc, i, j, c, kind, parity) then
                        local s = lam[k] * math.tanh(st[(b * cst + k) * hw + p])
                        y[ix] = (x[ix] + st[(b * cst + ct + k) * hw + p]) * math.exp(s)
                        sum = sum + s
                    else
                        y[ix] = x[ix]
                    end
                end
            end
        end
        logdet[b] = sum
    end
    return y, logdet
end

local function tbl(t)
    local r = {}
    for i = 0, t.numel - 1 do r[i] = t.data[i] end
    return r
end

local function arr(r, n) -- 0-based table -> 1-based list, for assert_close
    local out = {}
    for i = 0, n - 1 do out[i + 1] = r[i] end
    return out
end

--- Random operands of a coupling: x (N,C,H,W), st (N,Cst,H,W), lam (Ct) in [0.5, 1.5).
local function operands(n, c, h, w, kind, seed)
    local ct, cst = dims(c, kind)
    local g = spec_rng(seed)
    local x, st = g:normal(T.empty{n, c, h, w}), g:normal(T.empty{n, cst, h, w})
    local lam = g:uniform(T.empty{ct}, 0.5, 1.5)
    return x, st, lam
end

-- path: "_ref" (the scalar path), "_avx2" (the AVX2 path) or "" (the path nvp_init chose)
local path_names = {_ref = "scalar", _avx2 = "avx2"}
local function call(name, path, ...)
    local fn = NVP["nvp_coupling_" .. name]
    local status = path == "" and fn(...) or on_path(path_names[path], fn, ...)
    assert(status == 0, nffi.last_error())
end

local cases = {
    {kind = 0, parity = 0}, {kind = 0, parity = 1}, {kind = 1, parity = 0}, {kind = 1, parity = 1},
}
local function label(cs) return (cs.kind == 0 and "checkerboard" or "channel-wise") .. " parity " .. cs.parity end

describe("coupling forward/inverse", function()
    for _, cs in ipairs(cases) do
        for _, path in ipairs(paths) do
            it("inverse(forward(x)) == x, " .. label(cs) .. " " .. (path == "" and "dispatch" or path), function()
                local n, c, h, w = 2, 4, 5, 7
                local x, st, lam = operands(n, c, h, w, cs.kind, 11 + cs.parity)
                local y, back, logdet = T.empty{n, c, h, w}, T.empty{n, c, h, w}, T.zeros{n}
                call("forward", path, y.data, logdet.data, x.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
                call("inverse", path, back.data, y.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
                assert_close(back, x, 1e-5, 1e-5, "round trip")
            end)
        end

        it("forward == the Lua reference in double, " .. label(cs), function()
            local n, c, h, w = 2, 2, 3, 5
            local x, st, lam = operands(n, c, h, w, cs.kind, 21)
            local ey, eld = ref_forward(x.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
            for _, path in ipairs(paths) do
                local y, logdet = T.empty{n, c, h, w}, T.from_table{0.5, -2}
                call("forward", path, y.data, logdet.data, x.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
                assert_close(y, arr(ey, y.numel), 1e-5, 1e-6, "y" .. path)
                assert_close(logdet, {0.5 + eld[0], -2 + eld[1]}, 1e-5, 1e-5, "logdet" .. path)
            end
        end)
    end
end)

-- ---- log-det against the brute-force Jacobian ------------------------------------------------------

local function logabsdet(J, d) -- J: 1-based d x d, destroyed; Gaussian elimination, partial pivoting
    local s = 0
    for col = 1, d do
        local best = col
        for r = col + 1, d do
            if math.abs(J[r][col]) > math.abs(J[best][col]) then best = r end
        end
        J[col], J[best] = J[best], J[col]
        local pv = J[col][col]
        s = s + math.log(math.abs(pv))
        for r = col + 1, d do
            local f = J[r][col] / pv
            for cc = col, d do J[r][cc] = J[r][cc] - f * J[col][cc] end
        end
    end
    return s
end

describe("coupling log-det", function()
    for _, cs in ipairs(cases) do
        it("equals log|det J| (s/t fixed: diagonal J), " .. label(cs), function()
            local n, c, h, w = 1, 2, 2, 3
            local d = c * h * w
            local x, st, lam = operands(n, c, h, w, cs.kind, 31)
            local y, logdet = T.empty{n, c, h, w}, T.zeros{1}
            local function fwd()
                logdet.data[0] = 0
                call("forward", "", y.data, logdet.data, x.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
            end
            fwd()
            local ld = logdet.data[0]
            -- J by central differences of the C kernel (y is affine in x, so the step can be large).
            local J, step = {}, 1e-2
            for r = 1, d do J[r] = {} end
            for col = 1, d do
                local saved = x.data[col - 1]
                x.data[col - 1] = saved + step; fwd()
                local yp = tbl(y)
                x.data[col - 1] = saved - step; fwd()
                x.data[col - 1] = saved
                for r = 1, d do
                    J[r][col] = (yp[r - 1] - y.data[r - 1]) / (2 * step)
                    if r ~= col then assert(math.abs(J[r][col]) < 1e-4, "J is not diagonal") end
                end
            end
            local _, eld = ref_forward(x.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
            assert_close(ld, eld[0], 1e-5, 1e-5, "logdet vs sum of s")
            assert_close(ld, logabsdet(J, d), 1e-4, 1e-4, "logdet vs log|det J|")
        end)

        it("equals log|det J| of the whole coupling with s/t computed from the mask, " .. label(cs), function()
            -- A stand-in s/t network in Lua: st = tanh(A u + a), u = x * m (checkerboard) or the
            -- conditioning half (channel-wise). The composite Jacobian is triangular, not diagonal.
            local n, c, h, w = 1, 2, 2, 2
            local hw, d = h * w, c * h * w
            local ct, cst = dims(c, cs.kind)
            local g = spec_rng(41)
            local nin = cs.kind == 0 and d or (c / 2) * hw
            local A = g:normal(T.empty{cst * hw, nin}, 0, 0.7)
            local a = g:normal(T.empty{cst * hw})
            local lam = g:uniform(T.empty{ct}, 0.5, 1.5)
            local function st_of(x)
                local u = {}
                if cs.kind == 0 then
                    for xc = 0, c - 1 do
                        for i = 0, h - 1 do
                            for j = 0, w - 1 do
                                local ix = xc * hw + i * w + j
                                u[#u + 1] = changing(xc, i, j, c, 0, cs.parity) and 0 or x[ix]
                            end
                        end
                    end
                else
                    local first = cs.parity == 0 and c / 2 or 0
                    for p = 0, (c / 2) * hw - 1 do u[#u + 1] = x[first * hw + p] end
                end
                local st = {}
                for r = 0, cst * hw - 1 do
                    local v = a.data[r]
                    for q = 1, nin do v = v + A.data[r * nin + q - 1] * u[q] end
                    st[r] = math.tanh(v)
                end
                return st
            end
            local x = tbl(spec_rng(42):normal(T.empty{d}))
            local function f(xx) return ref_forward(xx, st_of(xx), lam.data, n, c, h, w, cs.kind, cs.parity) end
            local J, step = {}, 1e-6
            for r = 1, d do J[r] = {} end
            for col = 1, d do
                local saved = x[col - 1]
                x[col - 1] = saved + step
                local yp = f(x)
                x[col - 1] = saved - step
                local ym = f(x)
                x[col - 1] = saved
                for r = 1, d do J[r][col] = (yp[r - 1] - ym[r - 1]) / (2 * step) end
            end
            local _, eld = f(x)
            assert_close(logabsdet(J, d), eld[0], 1e-6, 1e-6, "log|det J| vs sum of s")
            -- and the C kernel fed the same s/t agrees
            local st = T.from_table(arr(st_of(x), cst * hw))
            local xt = T.from_table(arr(x, d))
            local y, logdet = T.empty{d}, T.zeros{1}
            call("forward", "", y.data, logdet.data, xt.data, st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
            assert_close(logdet.data[0], eld[0], 1e-5, 1e-5, "C logdet")
        end)
    end
end)

-- ---- backward against finite differences ---------------------------------------------------------

describe("coupling backward", function()
    for _, cs in ipairs(cases) do
        for _, path in ipairs(paths) do
            it("matches finite differences, " .. label(cs) .. " " .. (path == "" and "dispatch" or path), function()
                local n, c, h, w = 2, 2, 3, 5 -- hw = 15: one vector of 8 and a tail of 7
                local ct, cst = dims(c, cs.kind)
                local x, st, lam = operands(n, c, h, w, cs.kind, 51 + cs.kind)
                local g = spec_rng(52)
                local dy, dlogdet = g:normal(T.empty{n, c, h, w}), g:normal(T.empty{n})
                -- start the gradients non-zero: the kernel accumulates
                local dx0, dst0, dlam0 = g:normal(T.empty{n, c, h, w}), g:normal(T.empty{n, cst, h, w}), g:normal(T.empty{ct})
                local dx, dst, dlam = dx0:clone(), dst0:clone(), dlam0:clone()
                call("backward", path, dx.data, dst.data, dlam.data, dy.data, dlogdet.data, x.data, st.data,
                     lam.data, n, c, h, w, cs.kind, cs.parity)
                local X, S, L, DY, DL = tbl(x), tbl(st), tbl(lam), tbl(dy), tbl(dlogdet)
                local function loss()
                    local y, ld = ref_forward(X, S, L, n, c, h, w, cs.kind, cs.parity)
                    local v = 0
                    for i = 0, x.numel - 1 do v = v + DY[i] * y[i] end
                    for b = 0, n - 1 do v = v + DL[b] * ld[b] end
                    return v
                end
                local function check(got, base, buf, count, what)
                    local e, a = {}, {}
                    for i = 0, count - 1 do
                        e[i + 1] = numgrad(loss, buf, i, 1e-6)
                        a[i + 1] = got.data[i] - base.data[i]
                    end
                    assert_close(a, e, 1e-4, 1e-4, what)
                end
                check(dx, dx0, X, x.numel, "dx")
                check(dst, dst0, S, st.numel, "dst")
                check(dlam, dlam0, L, ct, "dlam")
            end)
        end
    end
end)

-- ---- AVX2 against the scalar reference -----------------------------------------------------------

describe("coupling avx2 == ref", function()
    if not has_avx2 then
        pending("this CPU has no AVX2")
        return
    end
    local shapes = {{2, 3, 5, 7}, {2, 4, 5, 7}, {1, 2, 1, 3}, {3, 4, 16, 16}, {2, 6, 14, 14}}
    for _, cs in ipairs(cases) do
        for _, sh in ipairs(shapes) do
            local n, c, h, w = sh[1], sh[2], sh[3], sh[4]
            if cs.kind == 0 or c % 2 == 0 then
                it(("%s on (%d,%d,%d,%d)"):format(label(cs), n, c, h, w), function()
                    local ct, cst = dims(c, cs.kind)
                    local x, st, lam = operands(n, c, h, w, cs.kind, 61)
                    local g = spec_rng(62)
                    local dy, dlogdet = g:normal(T.empty{n, c, h, w}), g:normal(T.empty{n})
                    local out = {}
                    for _, path in ipairs{"_ref", "_avx2"} do
                        local o = {y = T.empty{n, c, h, w}, logdet = T.full({n}, 1), back = T.empty{n, c, h, w},
                                   dx = T.full({n, c, h, w}, 0.5), dst = T.full({n, cst, h, w}, -0.5),
                                   dlam = T.full({ct}, 2)}
                        call("forward", path, o.y.data, o.logdet.data, x.data, st.data, lam.data, n, c, h, w,
                             cs.kind, cs.parity)
                        call("inverse", path, o.back.data, o.y.data, st.data, lam.data, n, c, h, w, cs.kind,
                             cs.parity)
                        call("backward", path, o.dx.data, o.dst.data, o.dlam.data, dy.data, dlogdet.data, x.data,
                             st.data, lam.data, n, c, h, w, cs.kind, cs.parity)
                        out[path] = o
                    end
                    local r, v = out._ref, out._avx2
                    for _, k in ipairs{"y", "back", "dx", "dst"} do
                        assert_close(v[k], r[k], 2e-6, 2e-6, k)
                    end
                    -- sums of up to N H W terms, each within a few ulp
                    assert_close(v.logdet, r.logdet, 2e-6, 1e-6 * c * h * w, "logdet")
                    assert_close(v.dlam, r.dlam, 2e-6, 1e-6 * n * h * w, "dlam")
                end)
            end
        end
    end

    it("vector exp matches libm over [-87, 88.7] (relative error < 2e-7)", function()
        -- r = 30 makes tanh exactly 1, so s = lam and y = exp(lam) at the changing lanes (j even).
        local k, w = 2001, 8
        local lam = T.empty{k}
        for i = 0, k - 1 do lam.data[i] = -87 + (88.7 + 87) * i / (k - 1) end
        local x, st = T.full({1, k, 1, w}, 1), T.zeros{1, 2 * k, 1, w}
        for i = 0, k * w - 1 do st.data[i] = 30 end
        local y, logdet = T.empty{1, k, 1, w}, T.zeros{1}
        call("forward", "_avx2", y.data, logdet.data, x.data, st.data, lam.data, 1, k, 1, w, 0, 0)
        local got, want = {}, {}
        for i = 0, k - 1 do
            got[i + 1], want[i + 1] = y.data[i * w + 2], math.exp(lam.data[i])
        end
        assert_close(got, want, 2e-7, 0, "exp")
    end)

    it("vector tanh matches libm over [-20, 20] (absolute error < 1e-6) and saturates without NaN", function()
        -- One changing position per sample carries r; the others have r = 0, so logdet = tanh(r).
        local vals = {1e30, -1e30, math.huge, -math.huge, 1e5, -88, 88}
        for i = 0, 4000 do vals[#vals + 1] = -20 + 40 * i / 4000 end
        local n, w = #vals, 16
        local x, st, lam = T.zeros{n, 1, 1, w}, T.zeros{n, 2, 1, w}, T.full({1}, 1)
        for b = 0, n - 1 do st.data[b * 2 * w] = vals[b + 1] end
        local y, logdet = T.empty{n, 1, 1, w}, T.zeros{n}
        call("forward", "_avx2", y.data, logdet.data, x.data, st.data, lam.data, n, 1, 1, w, 0, 0)
        local want = {}
        for b = 1, n do want[b] = math.tanh(st.data[(b - 1) * 2 * w]) end
        assert_close(logdet, want, 0, 1e-6, "tanh")
        assert.are.equal(0, logdet:count_nonfinite())
        assert.are.equal(0, y:count_nonfinite())
    end)
end)

-- ---- the checkerboard mask and bad arguments --------------------------------------------------------

describe("checker_mask", function()
    for parity = 0, 1 do
        it("keeps (i + j + parity) odd, and accumulates, parity " .. parity, function()
            local n, c, h, w = 2, 3, 5, 7
            local x = spec_rng(71):normal(T.empty{n, c, h, w})
            local y = T.full({n, c, h, w}, 3)
            assert.are.equal(0, NVP.nvp_checker_mask(y.data, x.data, n, c, h, w, parity, 0))
            local acc = T.full({n, c, h, w}, 3)
            assert.are.equal(0, NVP.nvp_checker_mask(acc.data, x.data, n, c, h, w, parity, 1))
            local e, ea = {}, {}
            for q = 0, n * c - 1 do
                for i = 0, h - 1 do
                    for j = 0, w - 1 do
                        local p = q * h * w + i * w + j
                        local v = (i + j + parity) % 2 == 1 and x.data[p] or 0
                        e[p + 1], ea[p + 1] = v, 3 + v
                    end
                end
            end
            assert_close(y, e, 0, 0, "overwrite")
            assert_close(acc, ea, 1e-6, 1e-6, "accumulate")
        end)
    end
end)

describe("coupling argument checks", function()
    it("refuses an odd channel count for channel-wise masks, naming the shape", function()
        local x, st, lam = operands(2, 3, 4, 4, 0, 81)
        local y, logdet = T.empty{2, 3, 4, 4}, T.zeros{2}
        for _, path in ipairs(paths) do
            local status = kernel("nvp_coupling_forward" .. path)(y.data, logdet.data, x.data, st.data, lam.data,
                                                               2, 3, 4, 4, 1, 0)
            assert.are.equal(2, status)
            assert.are.equal("nvp_coupling_forward: a channel-wise coupling needs an even channel count, "
                             .. "x is (2,3,4,4)", nffi.last_error())
        end
    end)

    it("refuses a bad mask kind, parity, size or NULL", function()
        local x, st, lam = operands(1, 2, 2, 2, 0, 82)
        local y, logdet = T.empty{1, 2, 2, 2}, T.zeros{1}
        assert.are.equal(1, NVP.nvp_coupling_forward(y.data, logdet.data, x.data, st.data, lam.data, 1, 2, 2, 2, 2, 0))
        assert.are.equal("nvp_coupling_forward: mask_kind = 2 (expected 0 checkerboard or 1 channel-wise)",
                         nffi.last_error())
        assert.are.equal(1, NVP.nvp_coupling_inverse(y.data, x.data, st.data, lam.data, 1, 2, 2, 2, 0, 2))
        assert.are.equal("nvp_coupling_inverse: parity = 2 (expected 0 or 1)", nffi.last_error())
        assert.are.equal(1, NVP.nvp_coupling_forward(y.data, logdet.data, x.data, st.data, lam.data, -1, 2, 2, 2, 0, 0))
        assert.are.equal("nvp_coupling_forward: n = -1 is negative", nffi.last_error())
        assert.are.equal(1, NVP.nvp_coupling_backward(y.data, nil, lam.data, x.data, logdet.data, x.data, st.data,
                                                      lam.data, 1, 2, 2, 2, 0, 0))
        assert.matches("nvp_coupling_backward: a tensor argument is NULL", nffi.last_error(), 1, true)
        assert.are.equal(1, NVP.nvp_checker_mask(y.data, x.data, 1, 2, 2, 2, 5, 0))
        assert.are.equal("nvp_checker_mask: parity = 5 (expected 0 or 1)", nffi.last_error())
    end)

    it("accepts empty tensors", function()
        assert.are.equal(0, NVP.nvp_coupling_forward(nil, nil, nil, nil, nil, 0, 2, 2, 2, 0, 0))
        assert.are.equal(0, NVP.nvp_coupling_backward(nil, nil, nil, nil, nil, nil, nil, nil, 0, 2, 2, 2, 1, 1))
    end)
end)

describe("coupling threads", function()
    it("gives bit-identical logdet and dlam with 1 and 3 threads", function()
        local n, c, h, w = 8, 4, 16, 16 -- above the parallel threshold
        local x, st, lam = operands(n, c, h, w, 0, 91)
        local dy, dlogdet = spec_rng(92):normal(T.empty{n, c, h, w}), spec_rng(93):normal(T.empty{n})
        local saved = NVP.nvp_get_threads()
        local res = {}
        for _, threads in ipairs{1, 3} do
            assert.are.equal(0, NVP.nvp_set_threads(threads))
            local y, logdet = T.empty{n, c, h, w}, T.zeros{n}
            local dx, dst, dlam = T.zeros{n, c, h, w}, T.zeros{n, 2 * c, h, w}, T.zeros{c}
            call("forward", "", y.data, logdet.data, x.data, st.data, lam.data, n, c, h, w, 0, 1)
            call("backward", "", dx.data, dst.data, dlam.data, dy.data, dlogdet.data, x.data, st.data, lam.data,
                 n, c, h, w, 0, 1)
            res[#res + 1] = {logdet, dlam, dst}
        end
        NVP.nvp_set_threads(saved)
        for k = 1, 3 do assert.are.equal(0, res[1][k]:max_abs_diff(res[2][k])) end
    end)
end)
