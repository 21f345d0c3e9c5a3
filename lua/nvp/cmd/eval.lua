-- nvp eval CKPT [split=test draws=N batch=B images=N]: bits/dim of a checkpoint on held-out data.
local cli = require "nvp.cli"
local run = require "nvp.run"
local dataset = require "nvp.data.dataset"
local evaluate = require "nvp.evaluate"

local M = {}

M.summary = "bits/dim of a checkpoint: nvp eval CKPT [split=test|train draws=N images=N]"

local KEYS = {split = "string", draws = "number", batch = "number", images = "number", root = "string", threads = "number"}

function M.run(args)
    local positional, o = cli.verb_args("eval", args, KEYS)
    local path = positional[1]
    if path == nil or #positional > 1 then cli.usage_error("eval needs one checkpoint: nvp eval CKPT [split=test draws=N]") end
    if o.threads then require("nvp.ffi").check(require("nvp.ffi").C.nvp_set_threads(o.threads)) end
    local ck, err = run.open(path)
    if ck == nil then error(err, 0) end
    local data = {}
    for k, v in pairs(ck.recipe.data) do data[k] = v end
    if o.root then data.root = o.root end
    data.heldout_images = o.images or 0
    local split = o.split or "test"
    if split ~= "test" and split ~= "train" then cli.usage_error("eval: split must be test or train") end
    data.heldout = "test"
    local ds
    ds, err = dataset.open(data)
    if ds == nil then error(err, 0) end
    local images = split == "test" and ds.heldout or ds.train
    if split == "train" and o.images and o.images < images.count then images = images:narrow(1, o.images) end
    local bpd, count = evaluate.bits_per_dim(ck.model, images, {batch = o.batch or ck.recipe.eval.batch,
                                                                 draws = o.draws or 1, seed = ck.recipe.seed})
    print(("%s: %s bits/dim %.4f (%d images, %d draw%s, step %s)"):format(path, split, bpd, count, o.draws or 1,
        (o.draws or 1) == 1 and "" or "s", ck.meta["nvp.step"]))
    return 0
end

return M
