-- A Glow model (actnorm, LU and plain 1x1 convolutions, affine and additive couplings, the learned
-- priors) on the recompute-by-inverse path (model.recompute = true: backward from z alone, each
-- layer's input rebuilt by its inverse) gives the stored path's loss and gradients to float32 rounding.
local Rng = require "nvp.rng"
local nn = require "nvp.nn"
local flow = require "nvp.flow"

local N = 4

local function glow()
    local levels = {}
    for level = 1, 2 do
        local layers = {nn.Squeeze{order = "A"}}
        for k = 1, 3 do
            layers[#layers + 1] = nn.ActNorm{}
            layers[#layers + 1] = nn.InvConv1x1{lu = k ~= 2}
            layers[#layers + 1] = nn.GlowCoupling{kind = k == 3 and "additive" or "affine", parity = k % 2,
                                                  net = nn.ConvNet{width = 6}}
        end
        layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
        layers[#layers + 1] = level == 1 and nn.SplitPrior{} or nn.TopPrior{}
        levels[level] = nn.Sequence(layers)
    end
    return nn.MultiScale(levels)
end

local function step(recompute)
    local model = flow.new(glow(), {channels = 2, height = 8, width = 8}, {seed = 3, recompute = recompute})
    local px = spec_pixels(N * model.dims, 37, 11)
    model:loss(px, N, Rng.new(5)) -- initialises the actnorms
    -- away from the start (zero-initialised convolutions and priors), the same on both paths
    local g = Rng.new(8)
    model:each_parameter(function(_, p) p:add(g:normal(p:clone(), 0, 0.05)) end)
    local loss = model:loss(px, N, Rng.new(5))
    model:zero_grad()
    local dx = model:backward():clone()
    local grads = {}
    model:each_parameter(function(name, _, gr) grads[name] = gr:clone() end)
    return loss, dx, grads
end

describe("a Glow model on the recompute-by-inverse path", function()
    it("gives the stored path's loss and gradients to float32 rounding", function()
        local l1, dx1, g1 = step(false)
        local l2, dx2, g2 = step(true)
        assert_close(l2, l1, 1e-6, 0, "loss")
        local compared = 0
        for name, g in pairs(g1) do
            local scale = 0
            for i = 0, g.numel - 1 do scale = math.max(scale, math.abs(g.data[i])) end
            local err = g:max_abs_diff(g2[name])
            assert.is_true(err <= 1e-4 * scale + 1e-6, ("%s: |recompute - stored| %.3g (max |grad| %.3g)"):format(
                name, err, scale))
            compared = compared + 1
        end
        assert.is_true(compared > 50)
        assert_close(dx2, dx1, 1e-3, 1e-5, "dL/dx")
    end)
end)
