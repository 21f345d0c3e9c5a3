-- No allocation in a warm training step: after the first step every tensor, workspace entry and
-- kernel scratch buffer is reused, so the engine's allocation counter (nvp_alloc_stats) stands still
-- and resident memory is flat from step 2 on.
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local flow = require "nvp.flow"
local optim = require "nvp.optim"
local ws = require "nvp.workspace"

local function pixels_of(n, d) return spec_pixels(n * d, 53, 7) end

-- What bench and the trainer do per step: loss, zero_grad, backward, Adam.
local function trainer(cfg, n)
    local model = flow.RealNVP.new(cfg)
    local opt = optim.Adam.new(model, {lr = 1e-3, l2 = 5e-5, clip = 100})
    local px, noise = pixels_of(n, model.dims), Rng.new(9)
    return model, function()
        model:loss(px, n, noise)
        model:zero_grad()
        model:backward()
        opt:step()
    end
end

-- Allocations (count, bytes) made by fn().
local function allocations(fn)
    local c0, b0 = T.alloc_stats()
    fn()
    local c1, b1 = T.alloc_stats()
    return c1 - c0, b1 - b0
end

describe("the training step", function()
    it("is counted: a new tensor is one allocation of its bytes", function()
        local count, bytes = allocations(function() T.empty{3, 5, 7} end)
        assert.are.same({1, 3 * 5 * 7 * 4}, {count, bytes})
    end)

    for _, case in ipairs{
        {"stored activations", {recompute = false}},
        {"recompute-by-inverse", {recompute = true}},
        {"recompute-by-inverse with flow batch norm", {recompute = true, flow_batchnorm = true}},
        {"stored activations with flow batch norm", {recompute = false, flow_batchnorm = true}},
    } do
        it(("allocates nothing from step 2 on (%s)"):format(case[1]), function()
            local cfg = {channels = 2, size = 8, scales = 2, width = 8, blocks = 2, seed = 1}
            for k, v in pairs(case[2]) do cfg[k] = v end
            local _, train_step = trainer(cfg, 6)
            local first = allocations(train_step)
            assert.is_true(first > 0)  -- the counter does see the first step's buffers
            train_step()
            assert.are.same({0, 0}, {allocations(train_step)}, "step 3 allocated")
        end)
    end

    it("gives every shape of one any_shape name the same storage, grown to the largest", function()
        ws.clear()
        local a = ws.any_shape("spec.t", {2, 64, 4, 4})     -- 2048 floats
        local b = ws.any_shape("spec.t", {2, 128, 2, 4})    -- the same count, another shape
        assert.are.same({2, 128, 2, 4}, b.shape)
        assert.are.equal(a.data, b.data)
        assert.are.equal(2048 * 4, ws.bytes())
        assert.are.equal(a, ws.any_shape("spec.t", {2, 64, 4, 4}))        -- the same view again, no allocation
        local c = ws.any_shape("spec.t", {1, 10})                          -- smaller: a view of the same storage
        assert.are.equal(a.data, c.data)
        assert.are.equal(10, c.numel)
        local d = ws.any_shape_zeroed("spec.t", {3, 1024})                 -- larger: the storage grows
        assert.are.equal(3072 * 4, ws.bytes())
        assert.are.equal(0, d:sumsq())
        assert.are.equal(d.data, ws.any_shape("spec.t", {2, 64, 4, 4}).data)
        assert.are_not.equal(d.data, ws.any_shape("spec.other", {2, 64, 4, 4}).data) -- names never share
        ws.clear()
    end)

    it("keeps one set of shared buffers when the batch size changes (recompute)", function()
        local cfg = {channels = 1, size = 8, scales = 2, width = 8, blocks = 1, recompute = true}
        ws.clear()
        local _, small = trainer(cfg, 2)
        small()
        local alone = ws.bytes()
        local _, large = trainer(cfg, 8)
        large()
        assert.is_true(ws.bytes() > alone)
        small()
        assert.are.equal(alone, ws.bytes())
    end)
end)
