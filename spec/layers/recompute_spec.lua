-- Recompute-by-inverse (model.recompute): backward from z alone, each layer's input rebuilt by its
-- inverse, must give the stored-activation path's loss and gradients to float32 rounding, leave the
-- batch-norm running averages where one forward put them, and hold one coupling's activations.
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local flow = require "nvp.flow"
local ws = require "nvp.workspace"

local N = 4

local function pixels_of(n, d) return spec_pixels(n * d, 37, 11) end

-- One loss + backward; returns the loss, dL/dx, and copies of every gradient and state buffer.
local function step(cfg, recompute, evaluate)
    local model
    if cfg.build then -- a flow written with the layer library
        model = flow.new(cfg.build(require "nvp.nn"), {channels = cfg.channels, height = cfg.size, width = cfg.size},
                         {seed = 3, recompute = recompute})
    else
        local full = {seed = 3, recompute = recompute}
        for k, v in pairs(cfg) do full[k] = v end
        model = flow.RealNVP.new(full)
    end
    if evaluate then model:evaluate() end
    local px = pixels_of(N, model.dims)
    local loss = model:loss(px, N, Rng.new(5))
    model:zero_grad()
    local dx = model:backward():clone()
    local grads, buffers = {}, {}
    model:each_parameter(function(name, _, g) grads[name] = g:clone() end)
    model:each_buffer(function(name, b) buffers[name] = b:clone() end)
    return {loss = loss, dx = dx, grads = grads, buffers = buffers}
end

local function max_abs(t)
    local m = 0
    for i = 0, t.numel - 1 do m = math.max(m, math.abs(t.data[i])) end
    return m
end

-- Gradients agree to float32 rounding: per tensor within 1e-4 of its own largest entry, plus 1e-6 of
-- the largest gradient anywhere (s/t biases before a batch norm have gradients that are rounding
-- noise of the others).
local function assert_same_gradients(stored, rebuilt)
    local global = 0
    for _, g in pairs(stored.grads) do global = math.max(global, max_abs(g)) end
    local compared = 0
    for name, g in pairs(stored.grads) do
        local err = g:max_abs_diff(rebuilt.grads[name])
        local tol = 1e-4 * max_abs(g) + 1e-6 * global
        assert.is_true(err <= tol, ("%s: |recompute - stored| %.3g > %.3g (max |grad| %.3g)"):format(name, err, tol,
            max_abs(g)))
        compared = compared + 1
    end
    assert.is_true(compared > 100)
    local dx_tol = 1e-4 * max_abs(stored.dx)
    assert.is_true(stored.dx:max_abs_diff(rebuilt.dx) <= dx_tol, "dL/dx differs")
end

local CASES = {
    {"a 3-scale model", {channels = 2, size = 8, scales = 3, width = 4, blocks = 2}},
    {"a 2-scale model with flow batch norm", {channels = 3, size = 8, scales = 2, width = 4, blocks = 2,
                                              flow_batchnorm = true}},
    {"a custom flow (permutations, flow batch norm, a factor-out inside a level)", {channels = 2, size = 8,
        build = function(nn)
            local function c(mask, parity) return nn.Coupling{mask = mask, parity = parity, net = nn.ResNet{width = 4,
                blocks = 2}} end
            return nn.Sequence{c("checkerboard", 0), nn.Permute{kind = "shuffle", seed = 2}, c("checkerboard", 1),
                nn.FactorOut{inner = nn.Sequence{c("channel", 0), nn.FlowBatchNorm{}, nn.Permute{}, c("channel", 0)}},
                c("checkerboard", 0)}
        end}},
}

describe("recompute-by-inverse", function()
    for _, case in ipairs(CASES) do
        it(("gives the stored path's loss and gradients on %s (training mode)"):format(case[1]), function()
            local stored, rebuilt = step(case[2], false), step(case[2], true)
            assert.are.equal(stored.loss, rebuilt.loss)  -- the forward is the same arithmetic
            assert_same_gradients(stored, rebuilt)
            -- the re-run s/t forwards and the flow batch norm's inverse must not move the averages again
            for name, b in pairs(stored.buffers) do
                assert.are.equal(0, b:max_abs_diff(rebuilt.buffers[name]), name)
            end
        end)
    end

    it("gives the stored path's gradients in evaluation mode (running statistics)", function()
        local cfg = CASES[2][2]
        assert_same_gradients(step(cfg, false, true), step(cfg, true, true))
    end)

    it("holds one coupling's activations, not one per coupling", function()
        -- one scale: 4 checkerboard couplings whose s/t networks dwarf everything else (16x16 images: the
        -- activations, not the shared weight workspaces every configuration allocates alike)
        local function bytes_of_first_step(recompute)
            ws.clear()
            collectgarbage()
            local model = flow.RealNVP.new{channels = 1, size = 16, scales = 1, width = 16, blocks = 4,
                                           recompute = recompute, refresh = 0} -- stored: every coupling's maps
            local _, before = T.alloc_stats()
            model:loss(pixels_of(N, model.dims), N, Rng.new(5))
            model:backward()
            local _, after = T.alloc_stats()
            return after - before
        end
        local stored, rebuilt = bytes_of_first_step(false), bytes_of_first_step(true)
        assert.is_true(rebuilt < 0.4 * stored, ("recompute allocated %d bytes, stored %d"):format(rebuilt, stored))
    end)

    it("refuses the stored backward once the layers share buffers, and a non-boolean switch", function()
        local model = flow.RealNVP.new{channels = 1, size = 4, scales = 2, width = 4, blocks = 1, recompute = true}
        local x = Rng.new(1):normal(T.empty{2, 1, 4, 4})
        local z = model:forward(x)
        local dz = T.zeros(z.shape)
        local dlogdet = T.zeros{2}
        assert.matches("the layers share their buffers (recompute), so their inputs are gone: use backward_by_inverse",
            error_of(function() model.flow:backward(x, dz, dlogdet) end), 1, true)
        assert.matches("model: 'recompute' must be true or false, got yes",
            error_of(function() flow.RealNVP.new{recompute = "yes"} end), 1, true)
    end)

    it("inverts exactly with shared buffers (sampling path)", function()
        local model = flow.RealNVP.new{channels = 2, size = 8, scales = 3, width = 4, blocks = 1, seed = 2,
                                       recompute = true}
        model:evaluate()
        local x = Rng.new(7):normal(T.empty{3, 2, 8, 8})
        local z = model:forward(x):clone()
        local back = model:inverse(z)
        local err = back:clone():axpy(-1, x)
        assert.is_true(math.sqrt(err:sumsq() / x:sumsq()) < 1e-4)
    end)
end)
