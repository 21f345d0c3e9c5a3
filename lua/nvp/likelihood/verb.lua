-- nvp.likelihood.verb: what the likelihood verbs (score, ood, encode, decode, interpolate) share:
-- opening the checkpoint and gathering the images they are given.
local cli = require "nvp.cli"
local run = require "nvp.run"
local nffi = require "nvp.ffi"
local inputs = require "nvp.likelihood.inputs"

local M = {}

--- The option keys every verb that reads images takes.
M.INPUT_KEYS = {resize = "number", convert = "number", split = "string", root = "string", images = "number",
                threads = "number", batch = "number"}

--- keys: the verb's own keys, merged with INPUT_KEYS.
function M.keys(own)
    local k = {}
    for name, t in pairs(M.INPUT_KEYS) do k[name] = t end
    for name, t in pairs(own or {}) do k[name] = t end
    return k
end

--- The checkpoint at path, its model in evaluation mode; raises its one-line message.
function M.open(path, o)
    if o and o.threads then nffi.check(nffi.C.nvp_set_threads(o.threads)) end
    local ck, err = run.open(path)
    if ck == nil then error(err, 0) end
    ck.model:evaluate()
    ck.shape = inputs.shape_of(ck.model)
    return ck
end

--- The images of a list of INPUT words, or of o.split (a split of the checkpoint's recipe), or both
-- (the files first). `what` names the verb for the usage message. Raises a one-line message.
function M.images(ck, words, o, what)
    if #words == 0 and not o.split then
        cli.usage_error(("%s: give images (PNG/JPEG files, folders, IDX or CIFAR-10 files) or split=test"):format(what))
    end
    local opts = {resize = o.resize == 1, convert = o.convert == 1, limit = o.images, root = o.root}
    local sets = {}
    if #words > 0 then
        local set, err = inputs.load(words, ck.shape, opts)
        if set == nil then error(err, 0) end
        sets[#sets + 1] = set
    end
    if o.split then
        local set, err = inputs.split(ck.recipe, o.split, ck.shape, opts)
        if set == nil then error(err, 0) end
        sets[#sets + 1] = set
    end
    if #sets == 1 then return sets[1] end
    local latent = require "nvp.viz.latent"
    local names = {}
    for _, s in ipairs(sets) do for _, n in ipairs(s.names) do names[#names + 1] = n end end
    return {images = latent.concat{sets[1].images, sets[2].images}, names = names}
end

return M
