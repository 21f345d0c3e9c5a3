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
local T = require "nvp.tensor"
local fs = require "nvp.fs"
local lfs = require "lfs"

local M = {}

M.FORMAT = "nvp-checkpoint-1"
-- A checkpoint's recipe runs as data: no globals but these, and at most this many VM instructions
-- (a file someone sent must not reach io, os, ffi or require, nor hang the loader).
M.RECIPE_INSTRUCTIONS = 10000000
local RECIPE_GLOBALS = {"ipairs", "pairs", "next", "select", "tonumber", "tostring", "type", "unpack",
                        "error", "assert"}  -- no pcall: it could swallow the budget's error
local RECIPE_LIBRARIES = {"math", "string", "table"}

local function sorted_names(t)
    local names = {}
    for k in pairs(t) do names[#names + 1] = k end
    table.sort(names)
    return names
end

-- A fresh sandbox for one recipe: copies of the safe libraries, so the recipe cannot alter ours.
local function recipe_sandbox()
    local env = {}
    for _, name in ipairs(RECIPE_GLOBALS) do env[name] = _G[name] end
    for _, lib in ipairs(RECIPE_LIBRARIES) do
        local copy = {}
        for k, v in pairs(_G[lib]) do copy[k] = v end
        env[lib] = copy
    end
    return env
end

-- recipe_mod.from_text in the sandbox, interpreted (compiled loops would not see the count hook)
-- under an instruction budget. Raises like from_text.
local function untrusted_recipe(text, path, overrides)
    local jit_was_on = jit.status()
    local old_hook, old_mask, old_count = debug.gethook()
    jit.off()
    debug.sethook(function()
        error(("%s: the recipe runs past %d instructions"):format(path, M.RECIPE_INSTRUCTIONS), 0)
    end, "", M.RECIPE_INSTRUCTIONS)
    local ok, r = pcall(recipe_mod.from_text, text, path, overrides, 2, recipe_sandbox())
    if old_hook then debug.sethook(old_hook, old_mask, old_count) else debug.sethook() end
    if jit_was_on then jit.on() end
    if not ok then error(r, 0) end
    return r
end

--- dims: {channels, height, width} of the images.
function M.build_model(r, dims)
    return flow.RealNVP.new{
        channels = dims.channels, height = dims.height, width_px = dims.width,
        scales = r.model.scales, width = r.model.width, blocks = r.model.blocks,
        flow_batchnorm = r.model.flow_batchnorm, alpha = r.model.alpha, seed = r.seed,
        recompute = r.model.recompute, refresh = r.model.refresh,
    }
end

-- Temporaries `<path>.tmp.<pid>.<n>` of writers that no longer run (killed in the middle of a save):
-- removed before each save, so that a run killed again and again does not fill its disk.
local function remove_stale_temporaries(path)
    local dir, base = path:match("^(.*)/([^/]+)$")
    if dir == nil then dir, base = ".", path end
    local ok, iter, state = pcall(lfs.dir, dir == "" and "/" or dir)
    if not ok then return end
    for name in iter, state do
        local pid = name:sub(1, #base) == base and name:sub(#base + 1):match("^%.tmp%.(%d+)%.%d+$")
        local stat = pid and fs.read("/proc/" .. pid .. "/stat")
        -- gone, or a zombie nobody reaped (a killed run's parent may be a shell that exited)
        if pid and (stat == nil or stat:match("^%d+ %b() Z")) then os.remove(dir .. "/" .. name) end
    end
end

--- Write a checkpoint atomically. meta: a table of scalars (converted to strings). Returns true or
-- nil, message. Refuses to write a non-finite value (parameter, statistic or optimiser moment).
function M.save(path, model, optimizer, meta, r)
    local tensors = {}
    for name, t in pairs(model:state()) do tensors["model." .. name] = t end
    if optimizer then
        for name, t in pairs(optimizer:state()) do tensors[name] = t end
    end
    -- parameters, statistics and optimiser moments alike: a NaN in any of them poisons the resume
    for _, name in ipairs(sorted_names(tensors)) do
        local t = tensors[name]
        if T.is_tensor(t) and t:count_nonfinite() > 0 then
            return nil, ("%s: not written: tensor '%s' holds %d non-finite values"):format(path, name,
                t:count_nonfinite())
        end
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
    remove_stale_temporaries(path)
    return checkpoint.save(path, tensors, strings)
end

--- The model's buffers (batch-norm running statistics), saved by take() and put back by restore():
-- a training step skipped for a non-finite loss or gradient must not keep the statistics its forward
-- pass folded in (a NaN there would otherwise reach every later evaluation and checkpoint).
function M.buffer_snapshot(model)
    local saved = {}
    model:each_buffer(function(_, t) saved[#saved + 1] = {t, t:clone()} end)
    return {
        take = function() for _, p in ipairs(saved) do p[2]:copy(p[1]) end end,
        restore = function() for _, p in ipairs(saved) do p[1]:copy(p[2]) end end,
    }
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
        return untrusted_recipe(meta["nvp.recipe"], meta["nvp.recipe_path"] or path, overrides)
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
