-- model.refresh = K (nvp.flow): the K couplings with the largest s/t networks keep no s/t activations
-- (they share the last same-shaped coupling's) and re-run that network in backward. The arithmetic
-- is the stored path's, so loss, gradients and batch-norm running averages must agree bit for bit;
-- the memory must go down; the choice must be the largest networks first.
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local flow = require "nvp.flow"
local ws = require "nvp.workspace"

local N = 3

local function pixels_of(n, d) return spec_pixels(n * d, 53, 7) end

-- Two loss + backward steps (the second sees the running averages the first moved); returns the last
-- loss, dL/dx and copies of every gradient and state buffer.
local function steps(cfg, refresh)
    local full = {seed = 4, refresh = refresh}
    for k, v in pairs(cfg) do full[k] = v end
    local model = flow.RealNVP.new(full)
    local px = pixels_of(N, model.dims)
    local loss, dx
    for i = 1, 2 do
        loss = model:loss(px, N, Rng.new(i))
        model:zero_grad()
        dx = model:backward():clone()
    end
    local grads, buffers = {}, {}
    model:each_parameter(function(name, _, g) grads[name] = g:clone() end)
    model:each_buffer(function(name, b) buffers[name] = b:clone() end)
    return {loss = loss, dx = dx, grads = grads, buffers = buffers, model = model}
end

-- Couplings of a model in forward order.
local function couplings_of(model)
    local list = {}
    model:each_layer(function(layer)
        if layer.st then list[#list + 1] = layer end
    end)
    return list
end

-- 3 scales on 8x8: 3 checkerboard couplings at 8x8 (width 4), 3 channel-wise at 4x4 (width 8),
-- 3 checkerboard at 4x4 (width 8), 3 channel-wise at 2x2, 4 checkerboard at 2x2: five s/t shapes.
local THREE_SCALES = {channels = 2, size = 8, scales = 3, width = 4, blocks = 2}

describe("refresh (s/t networks re-run in backward)", function()
    for _, case in ipairs{{"a 3-scale model", THREE_SCALES, {1, 2, 5, 11}},
                          {"a model with flow batch norm", {channels = 3, size = 8, scales = 2, width = 4, blocks = 1,
                                                            flow_batchnorm = true}, {3}}} do
        it(("gives the stored path's loss, gradients and running averages bit for bit on %s"):format(case[1]), function()
            local stored = steps(case[2], 0)
            for _, k in ipairs(case[3]) do
                local refreshed = steps(case[2], k)
                assert.are.equal(stored.loss, refreshed.loss)
                assert.are.equal(0, stored.dx:max_abs_diff(refreshed.dx), "dL/dx")
                local compared = 0
                for name, g in pairs(stored.grads) do
                    assert.are.equal(0, g:max_abs_diff(refreshed.grads[name]), ("refresh=%d: %s"):format(k, name))
                    compared = compared + 1
                end
                assert.is_true(compared > 100)
                for name, b in pairs(stored.buffers) do
                    assert.are.equal(0, b:max_abs_diff(refreshed.buffers[name]), ("refresh=%d: %s"):format(k, name))
                end
            end
        end)
    end

    it("refreshes the largest s/t networks first, never the last of a shape", function()
        local model = flow.RealNVP.new{channels = 2, size = 8, scales = 3, width = 4, blocks = 1, refresh = 4}
        local flags = {}
        for i, c in ipairs(couplings_of(model)) do flags[i] = c.refresh_st == true end
        -- the 8x8 width-4 networks (256 bytes-units each) and the 4x4 width-8 ones (128) come first:
        -- couplings 1, 2 (the third 8x8 one keeps), then 4, 5 (the first two channel-wise at 4x4)
        assert.are.same({true, true, false, true, true, false, false, false, false, false, false, false, false,
                         false, false, false}, flags)
    end)

    it("refresh = \"auto\", the default, refreshes the largest s/t network that can", function()
        local function flags_of(model)
            local flags = {}
            for i, c in ipairs(couplings_of(model)) do flags[i] = c.refresh_st == true end
            return flags
        end
        local model = flow.RealNVP.new{channels = 2, size = 8, scales = 3, width = 4, blocks = 1, refresh = "auto"}
        -- the largest shape: the three 8x8 width-4 networks; the first refreshes, the third lends its maps
        assert.are.same({true, false, false, false, false, false, false, false, false, false, false, false, false,
                         false, false, false}, flags_of(model))
        assert.are.equal(1, model.cfg.refresh)
        local default = flow.RealNVP.new{channels = 2, size = 8, scales = 3, width = 4, blocks = 1}
        assert.are.equal(1, default.cfg.refresh)
        assert.are.same(flags_of(model), flags_of(default))
        assert.are.equal(0, flow.RealNVP.new{channels = 2, size = 8, scales = 3, width = 4, blocks = 1,
                                             refresh = 0}.cfg.refresh)
        assert.is_true(flow.RealNVP.new{channels = 2, size = 8, scales = 3, width = 4, blocks = 1, refresh = "auto",
                                        recompute = true}.cfg.recompute) -- auto has nothing to do there
    end)

    it("holds less: each refreshed coupling stores no s/t maps", function()
        local function bytes_of_first_step(refresh)
            ws.clear()
            collectgarbage()
            local model = flow.RealNVP.new{channels = 1, size = 8, scales = 1, width = 16, blocks = 2, refresh = refresh}
            local _, before = T.alloc_stats()
            model:loss(pixels_of(N, model.dims), N, Rng.new(5))
            model:backward()
            local _, after = T.alloc_stats()
            return after - before
        end
        -- one scale, 4 couplings of one shape: refresh = 3 leaves one network's maps of four
        local stored, refreshed = bytes_of_first_step(0), bytes_of_first_step(3)
        assert.is_true(refreshed < 0.5 * stored, ("refresh=3 allocated %d bytes, stored %d"):format(refreshed, stored))
    end)

    it("refuses more couplings than can refresh, refresh with recompute, and a bad value", function()
        assert.matches("model: 'refresh' = 4, but only 3 couplings can refresh", error_of(function()
            flow.RealNVP.new{channels = 1, size = 8, scales = 1, width = 4, blocks = 1, refresh = 4}
        end), 1, true)
        assert.matches("model: 'refresh' is for the stored path", error_of(function()
            flow.RealNVP.new{channels = 1, size = 8, scales = 1, width = 4, blocks = 1, refresh = 1, recompute = true}
        end), 1, true)
        assert.matches("model: 'refresh' must be a whole number >= 0 or \"auto\", got 1.5", error_of(function()
            flow.RealNVP.new{channels = 1, size = 8, scales = 1, width = 4, blocks = 1, refresh = 1.5}
        end), 1, true)
    end)
end)
