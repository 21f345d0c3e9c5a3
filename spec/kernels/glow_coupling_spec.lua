-- Glow's coupling kernels (nvp_glow_coupling_forward / inverse / backward; kinds 0 affine, 1 additive,
-- 2 gaussian) against a double-precision Lua reference on ragged shapes, both parities; the AVX2 path
-- against the scalar path and the reference (C/2 HW mod 8 != 0, so the vector tails run; r = +-80 and
-- beyond, where a naive sigmoid overflows); thread-count independence; one-line errors.
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local KINDS = {[0] = "affine", "additive", "gaussian"}

local function sigmoid(a) return 1 / (1 + math.exp(-a)) end

-- y, logdet, dx, dh in double
local function reference(x, h, dy, dl, n, c, hw, parity, kind)
    local half = c / 2
    local ch = kind == 1 and half or c
    local cond, chg = parity == 0 and 0 or half, parity == 0 and half or 0
    local y, logdet, dx, dh = {}, {}, {}, {}
    for i = 1, n * c * hw do dx[i] = 0 end
    for i = 1, n * ch * hw do dh[i] = 0 end
    for b = 0, n - 1 do
        logdet[b + 1] = 0
        for i = 0, half * hw - 1 do
            local kc, kx = b * c * hw + cond * hw + i, b * c * hw + chg * hw + i
            y[kc + 1], dx[kc + 1] = x.data[kc], dy.data[kc]
            local t = h.data[b * ch * hw + i]
            local u = x.data[kx] + t
            local g = dy.data[kx]
            if kind == 1 then
                y[kx + 1], dx[kx + 1] = u, g
                dh[b * ch * hw + i + 1] = g
            else
                local r = h.data[b * ch * hw + half * hw + i]
                local s, ls, dr
                if kind == 0 then
                    s = sigmoid(r + 2)
                    ls = math.log(s)
                    dr = (g * u * s + dl.data[b]) * (1 - s)
                else
                    s = math.exp(r)
                    ls = r
                    dr = g * u * s + dl.data[b]
                end
                y[kx + 1], dx[kx + 1] = u * s, g * s
                logdet[b + 1] = logdet[b + 1] + ls
                dh[b * ch * hw + i + 1] = g * s
                dh[b * ch * hw + half * hw + i + 1] = dr
            end
        end
    end
    return y, logdet, dx, dh
end

-- dx, dh and logdet start at `start` (0 by default): the kernels accumulate into them.
local function run(x, h, dy, dl, n, c, hw, parity, kind, start)
    start = start or 0
    local ch = kind == 1 and c / 2 or c
    local y, back, logdet = T.empty{n, c, hw}, T.empty{n, c, hw}, T.full({n}, start)
    local dx, dh = T.full({n, c, hw}, start), T.full({n, ch, hw}, start)
    nffi.check(NVP.nvp_glow_coupling_forward(y.data, logdet.data, x.data, h.data, n, c, hw, parity, kind))
    nffi.check(NVP.nvp_glow_coupling_inverse(back.data, y.data, h.data, n, c, hw, parity, kind))
    nffi.check(NVP.nvp_glow_coupling_backward(dx.data, dh.data, dy.data, dl.data, x.data, h.data, n, c, hw, parity,
        kind))
    return y, logdet, back, dx, dh
end

local function inputs(n, c, hw, kind, seed)
    local r = spec_rng(seed)
    local ch = kind == 1 and c / 2 or c
    return r:normal(T.empty{n, c, hw}), r:normal(T.empty{n, ch, hw}, 0, 0.8), r:normal(T.empty{n, c, hw}),
        r:normal(T.empty{n})
end

-- r (h's channels [C/2, C)) set to r_big, -r_big, and the drawn value in turn.
local function big_r(h, n, c, hw, r_big)
    for b = 0, n - 1 do
        for i = 0, c / 2 * hw - 1 do
            local k = b * c * hw + c / 2 * hw + i
            if i % 3 == 0 then h.data[k] = r_big elseif i % 3 == 1 then h.data[k] = -r_big end
        end
    end
end

local function plus(list, v)
    local out = {}
    for i = 1, #list do out[i] = list[i] + v end
    return out
end

local function assert_finite(t, what)
    for i = 0, t.numel - 1 do
        local v = t.data[i]
        assert(v == v and math.abs(v) < math.huge, ("%s[%d] = %s is not finite"):format(what, i, tostring(v)))
    end
end

local NAMES = {"y", "logdet", "inverse(forward(x))", "dx", "dh"}

-- The AVX2 path's five outputs against the scalar path's and against the double reference (the kernels
-- accumulating into dx, dh and logdet that start at 0.25).
local function check_avx2(x, h, dy, dl, n, c, hw, parity, kind)
    local scalar = {on_path("scalar", run, x, h, dy, dl, n, c, hw, parity, kind, 0.25)}
    local avx2 = {on_path("avx2", run, x, h, dy, dl, n, c, hw, parity, kind, 0.25)}
    for i = 1, 5 do assert_close(avx2[i], scalar[i], 1e-5, 1e-6, "avx2 vs scalar: " .. NAMES[i]) end
    local ry, rl, rdx, rdh = reference(x, h, dy, dl, n, c, hw, parity, kind)
    assert_close(avx2[1], ry, 1e-5, 1e-6, "avx2 vs reference: y")
    assert_close(avx2[2], plus(rl, 0.25), 1e-5, 1e-5, "avx2 vs reference: logdet")
    assert_close(avx2[3], x, 1e-5, 1e-5, "avx2: inverse(forward(x))")
    assert_close(avx2[4], plus(rdx, 0.25), 1e-5, 1e-6, "avx2 vs reference: dx")
    assert_close(avx2[5], plus(rdh, 0.25), 1e-5, 1e-5, "avx2 vs reference: dh")
end

local function no_avx2()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return true
    end
end

describe("glow coupling kernels", function()
    for _, sh in ipairs{{1, 2, 1}, {2, 4, 7}, {3, 6, 17}, {2, 10, 33}} do
        local n, c, hw = sh[1], sh[2], sh[3]
        for kind = 0, 2 do
            for parity = 0, 1 do
                it(("%s, parity %d, (%d,%d,%d): match the double reference"):format(KINDS[kind], parity, n, c, hw),
                    function()
                    local x, h, dy, dl = inputs(n, c, hw, kind, n + c + hw + kind * 7 + parity)
                    local y, logdet, back, dx, dh = run(x, h, dy, dl, n, c, hw, parity, kind)
                    local ry, rl, rdx, rdh = reference(x, h, dy, dl, n, c, hw, parity, kind)
                    assert_close(y, ry, 1e-5, 1e-6, "y")
                    assert_close(logdet, rl, 1e-5, 1e-5, "logdet")
                    assert_close(back, x, 1e-5, 1e-5, "inverse(forward(x))")
                    assert_close(dx, rdx, 1e-5, 1e-6, "dx")
                    assert_close(dh, rdh, 1e-5, 1e-5, "dh")
                end)
            end
        end
    end

    -- C/2 HW = 3, 21, 165, 2807: none a multiple of 8; the last above the parallel threshold (OMP_MIN)
    for _, sh in ipairs{{1, 2, 3}, {2, 6, 7}, {3, 10, 33}, {4, 14, 401}} do
        local n, c, hw = sh[1], sh[2], sh[3]
        for kind = 0, 2 do
            for parity = 0, 1 do
                it(("%s, parity %d, (%d,%d,%d): the AVX2 path matches the scalar path and the double reference")
                    :format(KINDS[kind], parity, n, c, hw), function()
                    if no_avx2() then return end
                    local x, h, dy, dl = inputs(n, c, hw, kind, 1000 + n + c + hw + kind * 7 + parity)
                    check_avx2(x, h, dy, dl, n, c, hw, parity, kind)
                end)
            end
        end
    end

    for _, kind in ipairs{0, 2} do -- additive has no r
        it(KINDS[kind] .. ", r = +-80: the AVX2 path stays finite and matches the scalar path and the reference",
            function()
            if no_avx2() then return end
            local n, c, hw = 2, 6, 13
            local x, h, dy, dl = inputs(n, c, hw, kind, 31 + kind)
            big_r(h, n, c, hw, 80)
            check_avx2(x, h, dy, dl, n, c, hw, 1, kind)
            local out = {on_path("avx2", run, x, h, dy, dl, n, c, hw, 1, kind)}
            for i = 1, 5 do assert_finite(out[i], NAMES[i]) end
        end)
    end

    it("affine, r = +-1000: the AVX2 forward is finite (sigmoid 0 or 1) and matches the scalar path", function()
        if no_avx2() then return end
        local n, c, hw = 2, 4, 11
        local x, h = inputs(n, c, hw, 0, 5)
        big_r(h, n, c, hw, 1000)
        local function forward()
            local y, logdet = T.empty{n, c, hw}, T.zeros{n}
            nffi.check(NVP.nvp_glow_coupling_forward(y.data, logdet.data, x.data, h.data, n, c, hw, 0, 0))
            return y, logdet
        end
        local sy, sl = on_path("scalar", forward)
        local vy, vl = on_path("avx2", forward)
        assert_finite(vy, "y")
        assert_finite(vl, "logdet")
        assert_close(vy, sy, 1e-5, 1e-6, "y")
        assert_close(vl, sl, 1e-6, 1e-3, "logdet")
    end)

    it("do not depend on the thread count", function()
        local n, c, hw = 8, 8, 400 -- above the parallel threshold
        local x, h, dy, dl = inputs(n, c, hw, 0, 3)
        local before = NVP.nvp_get_threads()
        nffi.check(NVP.nvp_set_threads(1))
        local one = {run(x, h, dy, dl, n, c, hw, 1, 0)}
        nffi.check(NVP.nvp_set_threads(2))
        local two = {run(x, h, dy, dl, n, c, hw, 1, 0)}
        nffi.check(NVP.nvp_set_threads(before))
        for i = 1, 5 do assert.are.equal(0, one[i]:max_abs_diff(two[i])) end
    end)

    it("fail with one line naming the op and the shape", function()
        local t = T.empty{12}
        assert.are.equal(NVP.NVP_STATUS_BAD_SHAPE,
            tonumber(NVP.nvp_glow_coupling_forward(t.data, t.data, t.data, t.data, 1, 3, 2, 0, 0)))
        assert.are.equal("nvp_glow_coupling_forward: a channel-wise coupling needs an even channel count, x is (1,3,2)",
            ffi.string(NVP.nvp_last_error()))
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG,
            tonumber(NVP.nvp_glow_coupling_inverse(t.data, t.data, t.data, 1, 2, 2, 0, 3)))
        assert.are.equal("nvp_glow_coupling_inverse: kind = 3 (expected 0 affine, 1 additive or 2 gaussian)",
            ffi.string(NVP.nvp_last_error()))
    end)
end)
