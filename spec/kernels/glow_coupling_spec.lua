-- Glow's coupling kernels (nvp_glow_coupling_forward / inverse / backward; kinds 0 affine, 1 additive,
-- 2 gaussian) against a double-precision Lua reference on ragged shapes, both parities; thread-count
-- independence; one-line errors.
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

local function run(x, h, dy, dl, n, c, hw, parity, kind)
    local ch = kind == 1 and c / 2 or c
    local y, back, logdet = T.empty{n, c, hw}, T.empty{n, c, hw}, T.zeros{n}
    local dx, dh = T.zeros{n, c, hw}, T.zeros{n, ch, hw}
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
