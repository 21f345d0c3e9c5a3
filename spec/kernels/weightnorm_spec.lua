-- Weight normalisation (w_o = g_o v_o / ||v_o||): the references against a double-precision Lua
-- implementation and finite differences, and the AVX2 twins against the references.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local tab, list = spec_doubles, spec_list

-- the forward in double: w (0-based table), norms
local function wn_ref(v, g, cout, k)
    local w, norm = {}, {}
    for o = 0, cout - 1 do
        local q = 0
        for j = 0, k - 1 do q = q + v[o * k + j] ^ 2 end
        norm[o] = math.sqrt(q)
        for j = 0, k - 1 do w[o * k + j] = g[o] * v[o * k + j] / norm[o] end
    end
    return w, norm
end

local function inputs(cout, k, seed)
    local r = spec_rng(seed)
    local v = r:normal(T.empty{cout, k})
    local g = r:normal(T.empty{cout}, 0, 1)
    return v, g
end

describe("weight norm: reference", function()
    for _, sz in ipairs{{1, 1}, {5, 7}, {3, 27}, {4, 9 * 5}} do
        local cout, k = sz[1], sz[2]
        it(("forward matches a double-precision Lua reference at (%d,%d)"):format(cout, k), function()
            local v, g = inputs(cout, k, cout * 100 + k)
            local w, norm = T.empty{cout, k}, T.empty{cout}
            assert.are.equal(0, ON.scalar.nvp_weightnorm_forward(w.data, norm.data, v.data, g.data, cout, k))
            local ew, en = wn_ref(tab(v), tab(g), cout, k)
            assert_close(w, list(ew, cout * k), 1e-6, 1e-7, "w")
            assert_close(norm, list(en, cout), 1e-6, 0, "norm")
        end)

        it(("backward accumulates the finite-difference gradient at (%d,%d)"):format(cout, k), function()
            local v, g = inputs(cout, k, cout * 100 + k + 1)
            local dw = spec_rng(7):normal(T.empty{cout, k})
            local w, norm = T.empty{cout, k}, T.empty{cout}
            ON.scalar.nvp_weightnorm_forward(w.data, norm.data, v.data, g.data, cout, k)
            local dv0, dg0 = spec_rng(8):normal(T.empty{cout, k}), spec_rng(9):normal(T.empty{cout})
            local dv, dg = dv0:clone(), dg0:clone()
            assert.are.equal(0, ON.scalar.nvp_weightnorm_backward(dv.data, dg.data, dw.data, v.data, g.data,
                norm.data, cout, k))
            -- loss = sum(dw * w(v, g)) in double
            local vt, gt, dwt = tab(v), tab(g), tab(dw)
            local function loss()
                local wt = wn_ref(vt, gt, cout, k)
                local s = 0
                for i = 0, cout * k - 1 do s = s + dwt[i] * wt[i] end
                return s
            end
            local ev, eg, av, ag = {}, {}, {}, {}
            for i = 0, cout * k - 1 do
                ev[i + 1] = numgrad(loss, vt, i, 1e-6)
                av[i + 1] = dv.data[i] - dv0.data[i]
            end
            for o = 0, cout - 1 do
                eg[o + 1] = numgrad(loss, gt, o, 1e-6)
                ag[o + 1] = dg.data[o] - dg0.data[o]
            end
            assert_close(av, ev, 1e-4, 1e-5, "dv")
            assert_close(ag, eg, 1e-4, 1e-5, "dg")
        end)
    end

    it("refuses bad arguments with a message naming them", function()
        local v, g = inputs(2, 3, 1)
        local w, norm = T.empty{2, 3}, T.empty{2}
        assert.are.equal(1, ON.scalar.nvp_weightnorm_forward(w.data, norm.data, v.data, g.data, 2, -3))
        assert.are.equal("nvp_weightnorm_forward: k = -3 is negative", nffi.last_error())
        assert.are.equal(1, NVP.nvp_weightnorm_forward(w.data, nil, v.data, g.data, 2, 3))
        assert.are.equal("nvp_weightnorm_forward: norm is NULL", nffi.last_error())
        assert.are.equal(1, NVP.nvp_weightnorm_backward(w.data, nil, w.data, v.data, g.data, norm.data, 2, 3))
        assert.are.equal("nvp_weightnorm_backward: dg is NULL", nffi.last_error())
        assert.are.equal(1, NVP.nvp_weightnorm_backward(w.data, norm.data, w.data, v.data, g.data, norm.data, -1, 3))
        assert.are.equal("nvp_weightnorm_backward: cout = -1 is negative", nffi.last_error())
        -- nothing to do is fine
        assert.are.equal(0, NVP.nvp_weightnorm_forward(nil, nil, nil, nil, 0, 3))
    end)
end)

describe("weight norm: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    for _, sz in ipairs{{1, 1}, {3, 7}, {5, 8}, {7, 27}, {33, 9 * 17}, {64, 576}} do
        local cout, k = sz[1], sz[2]
        it(("forward and backward at (%d,%d)"):format(cout, k), function()
            local v, g = inputs(cout, k, cout + k)
            local w1, n1, w2, n2 = T.empty{cout, k}, T.empty{cout}, T.empty{cout, k}, T.empty{cout}
            assert.are.equal(0, ON.scalar.nvp_weightnorm_forward(w1.data, n1.data, v.data, g.data, cout, k))
            assert.are.equal(0, ON.avx2.nvp_weightnorm_forward(w2.data, n2.data, v.data, g.data, cout, k))
            assert_close(w2, w1, 1e-6, 1e-7, "w")
            assert_close(n2, n1, 1e-6, 0, "norm")
            local dw = spec_rng(3):normal(T.empty{cout, k})
            local dv1, dg1 = spec_rng(4):normal(T.empty{cout, k}), spec_rng(5):normal(T.empty{cout})
            local dv2, dg2 = dv1:clone(), dg1:clone()
            ON.scalar.nvp_weightnorm_backward(dv1.data, dg1.data, dw.data, v.data, g.data, n1.data, cout, k)
            ON.avx2.nvp_weightnorm_backward(dv2.data, dg2.data, dw.data, v.data, g.data, n1.data, cout, k)
            assert_close(dv2, dv1, 1e-5, 1e-6, "dv")
            assert_close(dg2, dg1, 1e-5, 1e-6, "dg")
        end)
    end
end)
