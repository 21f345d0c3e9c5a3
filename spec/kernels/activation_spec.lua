-- Concatenated ReLU y = [relu(a x), relu(-a x)] along channels: forward against a Lua reference,
-- backward against finite differences.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local function crelu_ref(x, a, n, c, hw)
    local y = {}
    for i = 0, n - 1 do
        for ch = 0, c - 1 do
            for j = 0, hw - 1 do
                local u = a * x[(i * c + ch) * hw + j]
                y[(i * 2 * c + ch) * hw + j] = math.max(u, 0)
                y[(i * 2 * c + c + ch) * hw + j] = math.max(-u, 0)
            end
        end
    end
    return y
end

describe("crelu", function()
    for _, sz in ipairs{{3, 5, 7}, {1, 1, 1}, {2, 3, 29}} do
        local n, c, hw = sz[1], sz[2], sz[3]
        for _, a in ipairs{1, 2, -0.5} do
            it(("forward and backward at (%d,%d,%d), scale %g"):format(n, c, hw, a), function()
                local x = spec_rng(n + c + hw):normal(T.empty{n, c, hw})
                local y = T.empty{n, 2 * c, hw}
                assert.are.equal(0, NVP.nvp_crelu_forward(y.data, x.data, a, n, c, hw))
                local xt = {}
                for i = 0, x.numel - 1 do xt[i] = x.data[i] end
                local ey = crelu_ref(xt, a, n, c, hw)
                local e = {}
                for i = 0, y.numel - 1 do e[i + 1] = ey[i] end
                assert_close(y, e, 0, 0, "y")
                local dy = spec_rng(5):normal(T.empty{n, 2 * c, hw})
                local dx0 = spec_rng(6):normal(T.empty{n, c, hw})
                local dx = dx0:clone()
                assert.are.equal(0, NVP.nvp_crelu_backward(dx.data, dy.data, x.data, a, n, c, hw))
                local function loss()
                    local yy, s = crelu_ref(xt, a, n, c, hw), 0
                    for i = 0, y.numel - 1 do s = s + dy.data[i] * yy[i] end
                    return s
                end
                local ex, ax = {}, {}
                for i = 0, x.numel - 1 do
                    ex[i + 1] = numgrad(loss, xt, i, 1e-6)
                    ax[i + 1] = dx.data[i] - dx0.data[i]
                end
                assert_close(ax, ex, 1e-5, 1e-5, "dx")
            end)
        end
    end

    it("refuses bad arguments with a message naming them", function()
        local x, y = T.zeros{2, 3, 4}, T.zeros{2, 6, 4}
        assert.are.equal(1, NVP.nvp_crelu_forward(y.data, x.data, 1, 2, -3, 4))
        assert.are.equal("nvp_crelu_forward: c = -3 is negative", nffi.last_error())
        assert.are.equal(1, NVP.nvp_crelu_forward(nil, x.data, 1, 2, 3, 4))
        assert.are.equal("nvp_crelu_forward: y is NULL", nffi.last_error())
        assert.are.equal(1, NVP.nvp_crelu_backward(x.data, y.data, nil, 2, 2, 3, 4))
        assert.are.equal("nvp_crelu_backward: x is NULL", nffi.last_error())
        assert.are.equal(1, NVP.nvp_crelu_backward(x.data, y.data, x.data, math.huge, 2, 3, 4))
        assert.are.equal("nvp_crelu_backward: scale = inf is not finite", nffi.last_error())
    end)
end)
