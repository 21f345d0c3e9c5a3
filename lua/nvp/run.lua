-- nvp.run: what ties a recipe to a model and a checkpoint.
--   build_model(recipe, dims)             the RealNVP a recipe describes, for images of `dims`
--   save(path, model, optimizer, meta)    one safetensors file: parameters, batch-norm statistics,
--                                         optimiser moments, and metadata (step, data position,
--                                         RNG state, the recipe text and overrides), written atomically
--   open(path)                            the model (and recipe, metadata, tensors) rebuilt from a
--                                         checkpoint alone
local json = require "nvp.json"
local checkpoint = require "nvp.checkpoint"
local recipe_mod = require "nvp.recipe"
local flow = require "nvp.flow"

local M = {}

M.FORMAT = "nvp-checkpoint-1"

--- dims: {channels, height, width} of the images.
function M.build_model(r, dims)
    return flow.RealNVP.new{
        channels = dims.channels, height = dims.height, width_px = dims.width,
        scales = r.model.scales, width = r.model.width, blocks = r.model.blocks,
        flow_batchnorm = r.model.flow_batchnorm, alpha = r.model.alpha, seed = r.seed,
    }
end

--- Write a checkpoint atomically. meta: a table of scalars (converted to strings). Returns true or
-- nil, message. Refuses to write non-finite parameters.
function M.save(path, model, optimizer, meta, r)
    local tensors = {}
    for name, t in pairs(model:state()) do
        if t:count_nonfinite() > 0 then
            return nil, ("%s: not written: tensor '%s' holds non-finite values"):format(path, name)
        end
        tensors["model." .. name] = t
    end
    if optimizer then
        for name, t in pairs(optimizer:state()) do tensors[name] = t end
    end
    local strings = {["nvp.format"] = M.FORMAT}
    for k, v in pairs(meta or {}) do strings["nvp." .. k] = tostring(v) end
    if r then
        strings["nvp.recipe"] = r.text
        strings["nvp.recipe_path"] = r.path
        strings["nvp.overrides"] = json.encode(r.overrides or {})
    end
    strings["nvp.dims"] = json.encode{channels = model.cfg.channels, height = model.cfg.height,
                                      width = model.cfg.width_px}
    return checkpoint.save(path, tensors, strings)
end

--- Read a checkpoint and rebuild its model. Returns {model, recipe, meta, tensors} or nil, message.
function M.open(path)
    local tensors, meta = checkpoint.load(path)
    if tensors == nil then return nil, meta end
    if meta["nvp.format"] ~= M.FORMAT then
        return nil, ("%s: not an nvp checkpoint (format '%s', expected '%s')"):format(path,
            tostring(meta["nvp.format"]), M.FORMAT)
    end
    for _, key in ipairs{"nvp.recipe", "nvp.dims", "nvp.step"} do
        if meta[key] == nil then return nil, ("%s: metadata '%s' is missing"):format(path, key) end
    end
    local ok, r = pcall(function()
        local overrides = json.decode(meta["nvp.overrides"] or "{}")
        return recipe_mod.from_text(meta["nvp.recipe"], meta["nvp.recipe_path"] or path, overrides)
    end)
    if not ok then return nil, ("%s: its recipe does not load: %s"):format(path, tostring(r)) end
    local dims_ok, dims = pcall(json.decode, meta["nvp.dims"])
    if not dims_ok or type(dims) ~= "table" then return nil, ("%s: metadata 'nvp.dims' is not valid JSON"):format(path) end
    local model = M.build_model(r, dims)
    local state = {}
    for name, t in pairs(tensors) do
        local short = name:match("^model%.(.+)$")
        if short then state[short] = t end
    end
    local loaded, err = pcall(model.load_state, model, state)
    if not loaded then return nil, ("%s: %s"):format(path, tostring(err):gsub("^[^:]*:%d+: ", "")) end
    return {model = model, recipe = r, meta = meta, tensors = tensors, dims = dims}
end

return M
