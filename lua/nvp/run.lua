-- nvp.run: what ties a recipe to a model and a checkpoint.
--   build_model(recipe, dims)             the model a recipe describes (its arch or its function), for
--                                         images of `dims` {channels, height, width}
--   save(path, model, optimizer, meta, r) one safetensors file: parameters, batch-norm statistics,
--                                         optimiser moments, and metadata: the architecture as data
--                                         (nvp.model, JSON), the recipe's settings (nvp.settings, JSON),
--                                         step, data position, RNG state; the recipe text for the
--                                         record only. Written atomically.
--   open(path)                            the model (and settings, metadata, tensors) rebuilt from a
--                                         checkpoint's data alone: nothing in the file is ever run
--   upgrade(path, recipe_path, out)       a checkpoint of the first format (which held only the recipe's
--                                         code) rewritten in this one, its model built from a recipe the
--                                         user names
local json = require "nvp.json"
local checkpoint = require "nvp.checkpoint"
local recipe_mod = require "nvp.recipe"
local flow = require "nvp.flow"
local nn = require "nvp.nn"
local T = require "nvp.tensor"
local fs = require "nvp.fs"
local lfs = require "lfs"

local M = {}

local function sorted_names(t)
    local names = {}
    for k in pairs(t) do names[#names + 1] = k end
    table.sort(names)
    return names
end

M.FORMAT = "nvp-checkpoint-2"
M.OLD_FORMAT = "nvp-checkpoint-1" -- the architecture only as recipe code: refused, `nvp upgrade` converts

--- dims: {channels, height, width} of the images.
function M.build_model(r, dims)
    local m = r.model
    local opts = {seed = r.seed, alpha = m.alpha, recompute = m.recompute, refresh = m.refresh}
    local desc
    if m.build then
        local ok, d = pcall(m.build, nn, {channels = dims.channels, height = dims.height, width = dims.width})
        if not ok then error(("%s: model: %s"):format(r.path or "recipe", tostring(d):gsub("^[^:]*:%d+: ", "")), 0) end
        if not nn.is_desc(d) then
            error(("%s: model: the function must return a flow built from nn (e.g. nn.Sequence{...}), got %s")
                :format(r.path or "recipe", type(d)), 0)
        end
        desc = d
    else
        local arch = recipe_mod.architecture(m.arch)
        local knobs = {}
        for _, k in ipairs(arch.KNOBS) do knobs[k[1]] = m[k[1]] end
        local why = arch.check(knobs, dims.height, dims.width)
        if why then error(("%s: model (%s): %s"):format(r.path or "recipe", m.arch, why), 0) end
        desc = arch.build(nn, dims, knobs)
        opts.arch = {name = m.arch, knobs = knobs, summary = arch.summary(knobs)}
    end
    local ok, model = pcall(flow.new, desc, dims, opts)
    if not ok then error(("%s: %s"):format(r.path or "recipe", tostring(model):gsub("^[^:]*:%d+: ", "")), 0) end
    return model
end

-- The settings of a recipe as JSON-ready data (no functions: a model function becomes arch = nil,
-- Lua transforms are left out: they are training-time augmentations).
local function settings_of(r)
    local out = {}
    for section, v in pairs(r) do
        if type(v) == "table" and recipe_mod.SCHEMA[section] then
            local copy = {}
            for k, x in pairs(v) do
                if type(x) ~= "function" then copy[k] = x end
            end
            out[section] = copy
        elseif recipe_mod.TOP[section] then
            out[section] = v
        end
    end
    out.data.transforms = json.array(require("nvp.data.transforms").data(r.data.transforms or {}))
    return out
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
        strings["nvp.recipe"] = r.text  -- for the record: never run when the file is read
        strings["nvp.recipe_path"] = r.path
        strings["nvp.overrides"] = json.encode(r.overrides or {})
        strings["nvp.settings"] = json.encode(settings_of(r))
    end
    local arch = model:architecture()
    strings["nvp.model"] = json.encode(arch)
    strings["nvp.dims"] = json.encode(arch.dims)
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

-- The model's state from a checkpoint's tensors ("model." prefix dropped).
local function model_state(tensors)
    local state = {}
    for name, t in pairs(tensors) do
        local short = name:match("^model%.(.+)$")
        if short then state[short] = t end
    end
    return state
end

-- Bytes of the model's tensors in a checkpoint: what rebuilding its architecture may allocate (twice:
-- parameters and their gradients), so that a description asking for more is refused, not allocated.
local function state_bytes(state)
    local n = 0
    for _, t in pairs(state) do n = n + (t.numel or 0) * 4 end
    return n
end

--- Read a checkpoint and rebuild its model from the data in it. Returns {model, recipe (the settings),
-- meta, tensors, dims} or nil, message. Runs nothing from the file.
function M.open(path)
    local tensors, meta = checkpoint.load(path)
    if tensors == nil then return nil, meta end
    if meta["nvp.format"] == M.OLD_FORMAT then
        return nil, ("%s: written by an nvp before checkpoints held the architecture as data (format '%s'); "
            .. "convert it with: nvp upgrade %s recipe=RECIPE.lua (the recipe it was trained with, e.g. its run "
            .. "directory's recipe.lua)"):format(path, M.OLD_FORMAT, path)
    end
    if meta["nvp.format"] ~= M.FORMAT then
        return nil, ("%s: not an nvp checkpoint (format '%s', expected '%s')"):format(path,
            tostring(meta["nvp.format"]), M.FORMAT)
    end
    for _, key in ipairs{"nvp.model", "nvp.step"} do
        if meta[key] == nil then return nil, ("%s: metadata '%s' is missing"):format(path, key) end
    end
    local ok, r = pcall(function()
        -- a model saved by a script, with no recipe: the default settings
        local settings = meta["nvp.settings"] and json.decode(meta["nvp.settings"]) or {}
        if type(settings) ~= "table" then error("not a table", 0) end
        return recipe_mod.normalize_settings(settings)
    end)
    if not ok then return nil, ("%s: metadata 'nvp.settings': %s"):format(path, tostring(r):gsub("^[^:]*:%d+: ", "")) end
    r.text, r.path = meta["nvp.recipe"], meta["nvp.recipe_path"] or path
    local state = model_state(tensors)
    local model
    ok, model = pcall(function()
        local arch = json.decode(meta["nvp.model"])
        local restore = T.limit_allocations(2 * state_bytes(state) + 64 * 1024 * 1024,
            "its architecture needs more memory than its tensors hold")
        local built_ok, m = pcall(flow.from_architecture, arch, {seed = 0, recompute = r.model.recompute,
                                                                 refresh = r.model.refresh})
        restore()
        if not built_ok then error(m, 0) end
        return m
    end)
    if not ok then return nil, ("%s: metadata 'nvp.model': %s"):format(path, tostring(model):gsub("^[^:]*:%d+: ", "")) end
    local loaded, err = pcall(model.load_state, model, state)
    if not loaded then return nil, ("%s: %s"):format(path, tostring(err):gsub("^[^:]*:%d+: ", "")) end
    local dims = {channels = model.cfg.channels, height = model.cfg.height, width = model.cfg.width_px}
    return {model = model, recipe = r, meta = meta, tensors = tensors, dims = dims}
end

--- Rewrite a checkpoint of the first format (OLD_FORMAT) in this one: the model is built from the recipe
-- at recipe_path (the user's own file, with the checkpoint's command-line overrides, which are data) and
-- takes the old tensors in order (same structure, same shapes, or refused). Returns true or nil, message.
function M.upgrade(path, recipe_path, out)
    local tensors, meta = checkpoint.load(path)
    if tensors == nil then return nil, meta end
    if meta["nvp.format"] == M.FORMAT then return nil, ("%s: already in format '%s'"):format(path, M.FORMAT) end
    if meta["nvp.format"] ~= M.OLD_FORMAT then
        return nil, ("%s: not an nvp checkpoint (format '%s')"):format(path, tostring(meta["nvp.format"]))
    end
    local ok, overrides = pcall(json.decode, meta["nvp.overrides"] or "{}")
    if not ok or type(overrides) ~= "table" then return nil, ("%s: metadata 'nvp.overrides' is not JSON"):format(path) end
    local r
    ok, r = pcall(recipe_mod.load, recipe_path, overrides)
    if not ok then return nil, tostring(r) end
    local dims_ok, dims = pcall(json.decode, meta["nvp.dims"] or "")
    if not dims_ok or type(dims) ~= "table" then return nil, ("%s: metadata 'nvp.dims' is missing or bad"):format(path) end
    local model
    ok, model = pcall(M.build_model, r, dims)
    if not ok then return nil, tostring(model) end
    local old_state = model_state(tensors)
    local order_ok, mapping = pcall(M.old_names, model, old_state)
    if not order_ok then return nil, ("%s: %s"):format(path, tostring(mapping):gsub("^[^:]*:%d+: ", "")) end
    local state, renamed = {}, {}
    for new, old in pairs(mapping) do
        state[new] = old_state[old]
        renamed[old] = new
    end
    local loaded, err = pcall(model.load_state, model, state)
    if not loaded then return nil, ("%s: %s"):format(path, tostring(err):gsub("^[^:]*:%d+: ", "")) end
    local optimizer_state = {}
    for name, t in pairs(tensors) do
        local kind, pname = name:match("^adam%.(%a+)%.(.+)$")
        if kind then
            if renamed[pname] == nil then return nil, ("%s: optimiser tensor '%s' has no parameter"):format(path, name) end
            optimizer_state["adam." .. kind .. "." .. renamed[pname]] = t
        elseif not name:match("^model%.") then
            optimizer_state[name] = t
        end
    end
    local plain = {}
    for k, v in pairs(meta) do
        local short = k:match("^nvp%.(.+)$")
        if short and short ~= "format" and short ~= "recipe" and short ~= "recipe_path" and short ~= "overrides"
            and short ~= "dims" then
            plain[short] = v
        end
    end
    return M.save(out or path, model, {state = function() return optimizer_state end}, plain, r)
end

--- {new name -> old name}: the first format named level 0's layers flow.body.I.* and level k's
-- flow.next. ... next.body.I.* (k times next); this one flow.I.* and flow.J.inner. ... I.*, J being the
-- FactorOut ending each level. Every old tensor must be taken, with the shape the recipe's model has.
function M.old_names(model, old_state)
    local mapping, used, count = {}, {}, 0
    local function visit(name, t)
        local rest = name:match("^flow%.(.*)$")
        local old = "flow."
        while rest do
            local tail = rest:match("^%d+%.inner%.(.*)$")
            if not tail then break end
            old, rest = old .. "next.", tail
        end
        old = old .. "body." .. tostring(rest)
        local src = old_state[old]
        if src == nil then
            error(("the recipe's model has '%s' %s, which the checkpoint lacks (as '%s'): not the recipe it was "
                .. "trained with"):format(name, T.shape_string(t.shape), old), 0)
        end
        if not t:same_shape(src) then
            error(("'%s' %s does not match the recipe's '%s' %s: not the recipe it was trained with"):format(old,
                T.shape_string(src.shape), name, T.shape_string(t.shape)), 0)
        end
        mapping[name], used[old], count = old, true, count + 1
    end
    model:each_parameter(visit)
    model:each_buffer(visit)
    for name in pairs(old_state) do
        if not used[name] then
            error(("the checkpoint's tensor 'model.%s' has no place in the recipe's model: not the recipe it was "
                .. "trained with"):format(name), 0)
        end
    end
    return mapping
end

return M
