-- nvp.bn_stats: fix a model's batch-norm statistics by a pass over training images.
--
-- During training the running averages are exponential (momentum 0.1 per step), so they weigh the
-- last few dozen batches of a model that was still moving. The paper reports held-out bits/dim with
-- batch norm in evaluation mode; a pass over the training set with the final weights gives averages
-- of the final model. Batch k of the pass uses momentum 1/k, so after K batches every running mean is
-- exactly the mean of the K batch means and every running variance the mean of the K unbiased batch
-- variances (the cumulative average of torch's momentum=None). Weights are untouched; only the
-- `running_mean` / `running_var` buffers change. Batch k's deeper layers see the input normalised with
-- batch k's own statistics, as in training.
--
--   local stats = require "nvp.bn_stats"
--   local layers, used = stats.recalibrate(model, ds.train, {images = 10000, batch = 100, seed = 0})
local Rng = require "nvp.rng"
local loader_mod = require "nvp.data.loader"

local M = {}

--- Every batch-norm layer of a model (a module with running statistics and a momentum), in order.
function M.layers(model)
    local found = {}
    local function visit(module)
        local b = module._buffers
        if b and b.running_mean and b.running_var and module.momentum then found[#found + 1] = module end
        for _, child in ipairs(module._children or {}) do visit(child.module) end
    end
    visit(model)
    return found
end

--- Recompute the running statistics of every batch-norm layer from `opts.images` (default: all)
-- training images, `opts.batch` (default 100) at a time, the first ones in order, dequantised with a
-- stream of its own (`opts.seed`). `images` is an Images set, or a crop source (LSUN's training set:
-- no pixels in memory), which is read through a loader in its stored order, randomly cropped as in
-- training. Returns the number of layers and of images used. A model without
-- batch norm is left as it is (0 layers).
function M.recalibrate(model, images, opts)
    opts = opts or {}
    local count = math.min(opts.images or images.count, images.count)
    local batch = math.min(opts.batch or 100, count)
    if count < 1 or batch < 2 then
        error(("bn_stats: need at least 2 images to estimate batch statistics, got %d"):format(count), 2)
    end
    local layers = M.layers(model)
    if #layers == 0 then return 0, 0 end
    local momentum = {}
    for i, bn in ipairs(layers) do momentum[i] = bn.momentum end
    local was_training = model.training
    model:train(true)
    local rng = Rng.new((opts.seed or 0) + 7919)
    local next_batch
    if images.data then
        local bytes = images.channels * images.height * images.width
        next_batch = function(first) return images.data + first * bytes end
    else
        local L = loader_mod.new{images = images, batch = batch, seed = opts.seed or 0, shuffle = false,
                                 prefetch = false}
        next_batch = function() return (L:next()) end
    end
    local used, k = 0, 0
    local ok, err = pcall(function()
        -- Whole batches only: a last batch of one image has no variance.
        while used + batch <= count do
            k = k + 1
            for _, bn in ipairs(layers) do bn.momentum = 1 / k end
            model:loss(next_batch(used), batch, rng)
            used = used + batch
            if opts.on_batch then opts.on_batch(used, count) end
        end
    end)
    for i, bn in ipairs(layers) do bn.momentum = momentum[i] end
    model:train(was_training)
    if not ok then error(err, 0) end
    return #layers, used
end

return M
