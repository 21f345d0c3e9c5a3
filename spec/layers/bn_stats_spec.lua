-- Fixing batch-norm statistics by a pass over training images (nvp.bn_stats): after K batches every
-- running mean is the mean of the K batch means and every running variance the mean of the K
-- unbiased batch variances; weights, momentum and the training mode are left as they were.
local flow = require "nvp.flow"
local images = require "nvp.data.images"
local bn_stats = require "nvp.bn_stats"

local function synthetic_images(count, seed)
    local imgs = images.new(count, 1, 8, 8)
    local state = seed
    for i = 0, count * 64 - 1 do
        state = (state * 1103515245 + 12345) % 2147483648
        imgs.data[i] = state % 256
    end
    return imgs
end

local function small_model(flow_batchnorm)
    return flow.RealNVP.new{channels = 1, height = 8, width_px = 8, scales = 2, width = 4, blocks = 1,
                            flow_batchnorm = flow_batchnorm, seed = 3}
end

describe("bn_stats.recalibrate", function()
    it("sets running averages to the mean of the batch statistics", function()
        local model = small_model(true)
        local layers = bn_stats.layers(model)
        assert.is_true(#layers >= 10, "batch-norm layers found: " .. #layers)
        local imgs = synthetic_images(48, 5)
        local batch = 16
        -- Record each layer's batch statistics (mean, unbiased variance) after every batch.
        local seen = {}
        local function record()
            for i, bn in ipairs(layers) do
                local per = seen[i] or {}
                seen[i] = per
                local hw = bn.last_hw
                local mean, var = {}, {}
                for c = 0, bn.channels - 1 do
                    local invstd = bn.invstd.data[c]
                    local biased = 1 / (invstd * invstd) - bn.eps
                    mean[c] = bn.mean.data[c]
                    var[c] = biased * (batch * hw) / (batch * hw - 1)
                end
                per[#per + 1] = {mean = mean, var = var}
            end
        end
        for _, bn in ipairs(layers) do
            for _, method in ipairs{"forward", "statistics"} do -- statistics: the s/t networks' fused ones
                local original = bn[method]
                if original then
                    bn[method] = function(self, x, ...)
                        self.last_hw = x.shape[3] * x.shape[4]
                        return original(self, x, ...)
                    end
                end
            end
        end
        local params_before = {}
        model:each_parameter(function(name, p) params_before[name] = p:clone() end)
        model:evaluate()
        local count, used = bn_stats.recalibrate(model, imgs, {batch = batch, on_batch = record})
        assert.are.equal(#layers, count)
        assert.are.equal(48, used)
        assert.is_false(model.training)
        for i, bn in ipairs(layers) do
            assert.are.equal(#seen[i], 3)
            for c = 0, bn.channels - 1 do
                local m, v = 0, 0
                for k = 1, 3 do
                    m = m + seen[i][k].mean[c] / 3
                    v = v + seen[i][k].var[c] / 3
                end
                assert_close(bn._buffers.running_mean.data[c], m, 1e-5, 1e-5, ("layer %d mean[%d]"):format(i, c))
                assert_close(bn._buffers.running_var.data[c], v, 2e-3, 1e-4, ("layer %d var[%d]"):format(i, c))
            end
        end
        model:each_parameter(function(name, p)
            assert.are.equal(0, p:max_abs_diff(params_before[name]), name .. " changed")
        end)
        for _, bn in ipairs(layers) do assert.are.equal(0.1, bn.momentum) end
    end)

    it("is what evaluation then uses: held-out bits/dim changes, and is reproducible", function()
        local evaluate = require "nvp.evaluate"
        local train_imgs, test_imgs = synthetic_images(64, 11), synthetic_images(32, 12)
        local a, b = small_model(false), small_model(false)
        local before = evaluate.bits_per_dim(a, test_imgs, {batch = 16})
        bn_stats.recalibrate(a, train_imgs, {batch = 32})
        bn_stats.recalibrate(b, train_imgs, {batch = 32})
        local after_a = evaluate.bits_per_dim(a, test_imgs, {batch = 16})
        local after_b = evaluate.bits_per_dim(b, test_imgs, {batch = 16})
        assert.are.equal(after_a, after_b)
        assert.are_not.equal(before, after_a)
    end)

    it("drops a last partial batch and refuses fewer than two images", function()
        local model = small_model(false)
        local _, used = bn_stats.recalibrate(model, synthetic_images(40, 2), {batch = 16})
        assert.are.equal(32, used)
        assert.matches("at least 2 images", error_of(bn_stats.recalibrate, model, synthetic_images(1, 2), {}))
    end)
end)
