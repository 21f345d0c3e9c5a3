-- nvp eval CKPT [split=heldout|train|test|valid draws=N estimator=mean|iw batch=B images=N bn_images=N save=PATH]:
-- bits/dim of a checkpoint on its recipe's held-out split (or the one named), with the standard error
-- of the mean over images. draws=K averages K dequantisation bounds per image (estimator=mean) or
-- takes their log-mean-exp (estimator=iw, importance-weighted: tighter; nvp.evaluate). bn_images=N first fixes the batch-norm statistics by a pass over the first N
-- training images (nvp.bn_stats); save=PATH then writes the checkpoint with those statistics (all else
-- as it was: weights, optimiser moments, data position), so later evaluations and samples use them.
-- A class-conditional model is evaluated under p(x | y) with the set's labels, and (unless classify=0)
-- also by classification: the accuracy of argmax_y p(x | y) and bits/dim under p(x) = 1/K sum_y p(x | y).
local cli = require "nvp.cli"
local run = require "nvp.run"
local bn_stats = require "nvp.bn_stats"
local dataset = require "nvp.data.dataset"
local evaluate = require "nvp.evaluate"
local transforms = require "nvp.data.transforms"

local M = {}

M.summary = "bits/dim of a checkpoint: nvp eval CKPT [split=heldout|train|test|valid draws=N estimator=mean|iw "
    .. "images=N bn_images=N save=PATH classify=0|1]"

local KEYS = {split = "string", draws = "number", batch = "number", images = "number", root = "string", threads = "number",
              bn_images = "number", save = "string", estimator = "string", classify = "number"}

-- The checkpoint's own metadata without the "nvp." prefix (run.save adds it back).
local function plain_meta(meta)
    local out = {}
    for k, v in pairs(meta) do
        local short = k:match("^nvp%.(.+)$")
        if short and short ~= "format" and short ~= "recipe" and short ~= "recipe_path" and short ~= "overrides"
            and short ~= "dims" and short ~= "model" and short ~= "settings" then
            out[short] = v
        end
    end
    return out
end

-- Write ck (with its model's current state) to path, keeping the optimiser tensors it carried.
local function save_with_stats(path, ck, extra)
    local optimizer_state = {}
    for name, t in pairs(ck.tensors) do
        if not name:match("^model%.") then optimizer_state[name] = t end
    end
    local meta = plain_meta(ck.meta)
    for k, v in pairs(extra) do meta[k] = v end
    local ok, err = run.save(path, ck.model, {state = function() return optimizer_state end}, meta, ck.recipe)
    if not ok then error(err, 0) end
end

function M.run(args)
    local positional, o = cli.verb_args("eval", args, KEYS)
    local path = positional[1]
    if path == nil or #positional > 1 then cli.usage_error("eval needs one checkpoint: nvp eval CKPT [split=heldout draws=N]") end
    local draws, estimator = o.draws or 1, o.estimator or "mean"
    if not evaluate.ESTIMATORS[estimator] then cli.usage_error("eval: estimator must be mean or iw") end
    if draws < 1 or draws ~= math.floor(draws) then cli.usage_error("eval: draws must be a positive integer") end
    if o.threads then require("nvp.ffi").check(require("nvp.ffi").C.nvp_set_threads(o.threads)) end
    local ck, err = run.open(path)
    if ck == nil then error(err, 0) end
    local data = {}
    for k, v in pairs(ck.recipe.data) do data[k] = v end
    if o.root then data.root = o.root end
    data.heldout_images = o.images or 0
    -- "heldout" is the split the recipe evaluates on (test for CIFAR-10, valid for ImageNet/LSUN/CelebA)
    local split = o.split or "heldout"
    if split ~= "heldout" and split ~= "train" then data.heldout = split end
    local ds
    ds, err = dataset.open(data)
    if ds == nil then error(err, 0) end
    if split == "heldout" then split = data.heldout end
    -- the deterministic part of the recipe's data.transforms (central crops, resizes), as in training
    local pipeline = transforms.new(ck.recipe.data.transforms, {channels = ds.channels, height = ds.height,
        width = ds.width})
    ds.heldout = pipeline:eval_images(ds.heldout)
    if pipeline:changes_size() and ds.train.data then ds.train = pipeline:eval_images(ds.train, o.images or o.bn_images) end
    if o.save and not o.bn_images then cli.usage_error("eval: save=PATH needs bn_images=N (it stores fixed statistics)") end
    if o.bn_images then
        if o.bn_images < 2 then cli.usage_error("eval: bn_images must be >= 2") end
        local layers, used = bn_stats.recalibrate(ck.model, ds.train, {images = o.bn_images, batch = o.batch or 100,
                                                                      seed = ck.recipe.seed})
        if layers == 0 then
            print(("%s: the model has no batch norm; bn_images ignored"):format(path))
        else
            print(("%s: batch-norm statistics of %d layers fixed on %d training images"):format(path, layers, used))
        end
        if o.save then
            save_with_stats(o.save, ck, {bn_images = used})
            print(("wrote %s"):format(o.save))
        end
    end
    local images = split == "train" and ds.train or ds.heldout
    if split == "train" then
        if images.data == nil then error(("eval: %s's training set is a crop source; evaluate split=%s"):format(
            data.dataset, ck.recipe.data.heldout), 0) end
        if o.images and o.images < images.count then images = images:narrow(1, o.images) end
    end
    local bpd, count, se, other = evaluate.bits_per_dim(ck.model, images, {batch = o.batch or ck.recipe.eval.batch,
        draws = draws, seed = ck.recipe.seed, estimator = estimator})
    local what = estimator == "iw" and "importance-weighted" or (draws > 1 and "mean of bounds" or "one draw")
    print(("%s: %s bits/dim %.4f +- %.4f (%s; %d images, %d draw%s, step %s%s)"):format(path, split, bpd, se, what,
        count, draws, draws == 1 and "" or "s", ck.meta["nvp.step"],
        ck.model:is_conditional() and "; under p(x | y), the images' labels" or ""))
    if draws > 1 then
        print(("%s: %s bits/dim %.4f by the %s on the same draws"):format(path, split, other,
            estimator == "iw" and "mean of bounds" or "importance-weighted estimate"))
    end
    if ck.model:is_conditional() and o.classify ~= 0 then
        local c = evaluate.classify(ck.model, images, {batch = o.batch or ck.recipe.eval.batch, seed = ck.recipe.seed})
        print(("%s: %s accuracy of argmax_y p(x | y) %.4f (%d of %d images); bits/dim %.4f under p(x | y), %.4f "
            .. "under p(x) = 1/K sum_y p(x | y) (one draw)"):format(path, split, c.accuracy,
            math.floor(c.accuracy * c.count + 0.5), c.count, c.bpd_given_label, c.bpd_marginal))
    end
    return 0
end

return M
