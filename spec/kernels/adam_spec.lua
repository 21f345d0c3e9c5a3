-- Adam with coupled L2 (g' = grad + wd * param) and bias correction: the reference against a
-- double-precision Lua implementation over a few steps, and the AVX2 twin against the reference.
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

-- the hyper-parameters as the kernel sees them (float arguments)
local function f32(x) return tonumber(ffi.new("float", x)) end

local function adam_ref(p, m, v, g, n, lr, b1, b2, eps, wd, t)
    lr, b1, b2, eps, wd = f32(lr), f32(b1), f32(b2), f32(eps), f32(wd)
    for i = 0, n - 1 do
        local gi = g[i] + wd * p[i]
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        local mh, vh = m[i] / (1 - b1 ^ t), v[i] / (1 - b2 ^ t)
        p[i] = p[i] - lr * mh / (math.sqrt(vh) + eps)
    end
end

local tab, list = spec_doubles, spec_list

local CASES = {
    {lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0},
    {lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 5e-5},
    {lr = 0.05, b1 = 0.5, b2 = 0.9, eps = 1e-3, wd = 0.3},
}

describe("adam: reference", function()
    for k, h in ipairs(CASES) do
        it(("follows a double-precision Lua reference for 5 steps (case %d)"):format(k), function()
            local n = 37
            local p = spec_rng(k):normal(T.empty{n})
            local m, v = T.zeros{n}, T.zeros{n}
            local ep, em, ev = tab(p), tab(m), tab(v)
            for t = 1, 5 do
                local g = spec_rng(100 * k + t):normal(T.empty{n}, 0, 0.1 * t)
                assert.are.equal(0, ON.scalar.nvp_adam_step(p.data, m.data, v.data, g.data, n, h.lr, h.b1, h.b2,
                    h.eps, h.wd, t))
                adam_ref(ep, em, ev, tab(g), n, h.lr, h.b1, h.b2, h.eps, h.wd, t)
                -- keep the reference on the float state so rounding does not compound
                assert_close(p, list(ep, n), 1e-6, 1e-7, "param at step " .. t)
                assert_close(m, list(em, n), 1e-5, 1e-8, "m at step " .. t)
                assert_close(v, list(ev, n), 1e-5, 1e-10, "v at step " .. t)
                ep, em, ev = tab(p), tab(m), tab(v)
            end
        end)
    end

    it("the first step moves each parameter by about lr * sign(grad)", function()
        local p, m, v = T.zeros{3}, T.zeros{3}, T.zeros{3}
        local g = T.from_table{0.5, -2, 1e-3}
        NVP.nvp_adam_step(p.data, m.data, v.data, g.data, 3, 0.01, 0.9, 0.999, 1e-8, 0, 1)
        assert_close(p, {-0.01, 0.01, -0.01}, 1e-4, 0, "param")
    end)

    it("refuses bad arguments with a message naming them", function()
        local p = T.zeros{4}
        assert.are.equal(1, ON.scalar.nvp_adam_step(p.data, p.data, p.data, p.data, 4, 1e-3, 0.9, 0.999, 1e-8, 0, 0))
        assert.are.equal("nvp_adam_step: step = 0 must be >= 1", nffi.last_error())
        assert.are.equal(1, NVP.nvp_adam_step(p.data, p.data, p.data, p.data, 4, 1e-3, 1, 0.999, 1e-8, 0, 1))
        assert.are.equal("nvp_adam_step: beta1 = 1 is not in [0, 1)", nffi.last_error())
        assert.are.equal(1, NVP.nvp_adam_step(p.data, nil, p.data, p.data, 4, 1e-3, 0.9, 0.999, 1e-8, 0, 1))
        assert.are.equal("nvp_adam_step: m is NULL", nffi.last_error())
        assert.are.equal(1, NVP.nvp_adam_step(p.data, p.data, p.data, p.data, -4, 1e-3, 0.9, 0.999, 1e-8, 0, 1))
        assert.are.equal("nvp_adam_step: n = -4 is negative", nffi.last_error())
    end)
end)

describe("adam: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    for _, n in ipairs{0, 1, 7, 8, 9, 1001, 40003} do
        it("three steps at n = " .. n, function()
            local h = CASES[2]
            local p1 = spec_rng(n):normal(T.empty{n})
            local m1, v1 = T.zeros{n}, T.zeros{n}
            local p2, m2, v2 = p1:clone(), m1:clone(), v1:clone()
            for t = 1, 3 do
                local g = spec_rng(n + t):normal(T.empty{n})
                ON.scalar.nvp_adam_step(p1.data, m1.data, v1.data, g.data, n, h.lr, h.b1, h.b2, h.eps, h.wd, t)
                ON.avx2.nvp_adam_step(p2.data, m2.data, v2.data, g.data, n, h.lr, h.b1, h.b2, h.eps, h.wd, t)
            end
            assert_close(p2, p1, 1e-6, 1e-7, "param")
            assert_close(m2, m1, 1e-5, 1e-7, "m")
            assert_close(v2, v1, 1e-5, 1e-8, "v")
        end)
    end
end)
