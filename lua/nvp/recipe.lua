-- nvp.recipe: a recipe is a Lua file returning one table of settings. This module holds the schema
-- (every key, its type, its default and what it means), merges command-line overrides, and rejects
-- unknown keys and wrong types by name before any data is loaded (the darknet lesson).
--
-- The model is either a named architecture with its knobs (model = {arch = "realnvp", scales = 2, ...};
-- the knobs, their types and defaults are the architecture file's own, lua/nvp/arch/NAME.lua) or a
-- function that builds the flow from the layer library (model = function(nn, dims) return nn.Sequence{...}
-- end, or model = {build = function ..., recompute = true}).
--
--   local recipe = require "nvp.recipe"
--   local r = recipe.load("recipes/fashion_mnist.lua", {train = {steps = 10}})
--   r.train.lr, r.model.width, r.text (the recipe file as run)
local M = {}
local normalize_model

-- section -> key -> {type, default, doc[, allowed values]}
M.SCHEMA = {
    data = {
        dataset = {"string", "fashion_mnist", "dataset name", {"fashion_mnist", "cifar10", "imagenet32", "imagenet64",
                   "lsun_bedroom", "lsun_tower", "lsun_church_outdoor", "celeba", "folder"}},
        root = {"string", "", "where the dataset files are ('' = the dataset's default location)"},
        heldout = {"string", "test", "held-out split for evaluation", {"test", "valid", "train_tail"}},
        heldout_images = {"number", 0, "images of the held-out split to evaluate (0 = all)"},
        train_images = {"number", 0, "use only the first N training images (0 = all)"},
        flip = {"boolean", false, "random horizontal flips of training images"},
        cache = {"string", "cache", "directory of the packed caches of folder datasets (nvp prepare RECIPE.lua)"},
        size = {"number", 0, "data.dataset = 'folder': the image side trained on (smaller sides are brought to it, "
            .. "then cropped)"},
        channels = {"number", 3, "data.dataset = 'folder': 1 (grey) or 3 (RGB)"},
        bad_images = {"string", "refuse", "a corrupt or mis-sized file in a folder dataset", {"refuse", "skip"}},
        transforms = {"table", {}, "the training pipeline's transforms of a uint8 batch, in order (nvp.data.transforms): "
            .. "\"flip\", {\"random_crop\", size = S, padding = P}, {\"center_crop\", size = S}, {\"resize\", size = S}, "
            .. "or function(batch, rng) ... end"},
    },
    model = {
        arch = {"string", "realnvp", "a named architecture (lua/nvp/arch/NAME.lua); its knobs are model keys too"},
        build = {"function", false, "function(nn, dims) returning the flow (nvp.nn layers) instead of an arch"},
        recompute = {"boolean", false, "backward rebuilds each layer's input by its inverse: activation memory "
            .. "of one coupling, one more s/t forward per coupling"},
        refresh = {"number|string", "auto", "the K couplings with the largest s/t networks store no s/t "
            .. "activations and re-run that network in backward (stored path; one more s/t forward each); "
            .. "\"auto\": the largest one", {"auto"}},
        alpha = {"number", 0.05, "logit constraint: p = alpha + (1 - 2 alpha) x / 256"},
    },
    train = {
        batch = {"number", 64, "images per step"},
        lr = {"number", 1e-3, "Adam learning rate"},
        beta1 = {"number", 0.9, "Adam beta1"},
        beta2 = {"number", 0.999, "Adam beta2"},
        eps = {"number", 1e-8, "Adam epsilon"},
        l2 = {"number", 5e-5, "L2 penalty on the weight-norm scales"},
        clip = {"number", 100, "gradient-norm clip per parameter group (0 = off)"},
        warmup = {"number", 0, "linear learning-rate warm-up, in steps"},
        polyak = {"number", 0, "Polyak averaging decay for evaluation weights (0 = off, e.g. 0.999)"},
        steps = {"number", 0, "stop after this many steps (0 = no limit)"},
        minutes = {"number", 0, "stop after this many minutes of training (0 = no limit)"},
        epochs = {"number", 0, "stop after this many epochs (0 = no limit)"},
        log_every = {"number", 50, "steps between metric lines"},
        eval_every_minutes = {"number", 0, "minutes between held-out evaluations (0 = only at the end)"},
        checkpoint_every_minutes = {"number", 5, "minutes between 'last' checkpoints"},
        max_bad_steps = {"number", 20, "stop after this many non-finite steps in a row"},
        sync_batchnorm = {"boolean", false, "under mpirun: batch-norm statistics over all ranks' images, not per rank"},
        overlap_allreduce = {"boolean", false, "under mpirun: reduce a layer's gradients during the layers' backward"},
    },
    eval = {
        batch = {"number", 250, "images per evaluation batch"},
        draws = {"number", 1, "dequantization noise draws per image (bits/dim averaged)"},
        bn_images = {"number", 0, "before the final evaluation, fix batch-norm statistics on this many training "
            .. "images and store them in the checkpoints (0 = keep the running averages)"},
    },
    sample = {
        n = {"number", 64, "samples drawn at the end of training"},
        temperature = {"number", 1.0, "prior standard deviation for samples"},
    },
    run = {
        dir = {"string", "", "run directory ('' = runs/<name>)"},
        resume = {"boolean", true, "continue from run.dir's last checkpoint when there is one"},
    },
}

-- Image sides of the datasets the recipes know, to check the model's scales before loading data.
M.DATASET_SIDES = {fashion_mnist = 28, cifar10 = 32, imagenet32 = 32, imagenet64 = 64, lsun_bedroom = 64,
                   lsun_tower = 64, lsun_church_outdoor = 64, celeba = 64}

-- Top-level scalar keys.
M.TOP = {
    name = {"string", "run", "run name (the run directory is runs/<name>)"},
    seed = {"number", 0, "seed of every random stream (weights, data order, noise)"},
    threads = {"number", 0, "engine threads (0 = NVP_THREADS or all CPUs)"},
    description = {"string", "", "one line shown on the results page"},
}

local function type_error(path, value, want, level)
    error(("recipe: '%s' must be a %s, got %s (%s)"):format(path, want, type(value), tostring(value)), level + 1)
end

-- The architectures: lua/nvp/arch/*.lua, found by listing that folder.
function M.architectures()
    local names = {}
    local path = package.searchpath("nvp.arch.realnvp", package.path)
    local ok, lfs = pcall(require, "lfs")
    if ok and path then
        for file in lfs.dir(path:match("^(.*)/[^/]+$")) do
            local name = file:match("^([%w_]+)%.lua$")
            if name then names[#names + 1] = name end
        end
    end
    table.sort(names)
    return names
end

--- The architecture module of a name, or raises naming the valid ones.
function M.architecture(name, level)
    for _, known in ipairs(M.architectures()) do
        if known == name then return require("nvp.arch." .. name) end
    end
    error(("recipe: 'model.arch' = '%s' is not one of: %s"):format(tostring(name),
        table.concat(M.architectures(), ", ")), (level or 1) + 1)
end

local function check_value(path, spec, value, level)
    -- spec[1]: a type, or types joined by "|" (then spec[4] lists the strings allowed)
    if type(value) ~= spec[1] and not ("|" .. spec[1] .. "|"):find("|" .. type(value) .. "|", 1, true) then
        type_error(path, value, spec[1], level + 1)
    end
    if spec[4] and (type(value) == "string" or not spec[1]:find("|", 1, true)) then
        for _, allowed in ipairs(spec[4]) do
            if allowed == value then return end
        end
        error(("recipe: '%s' = '%s' is not one of: %s"):format(path, tostring(value), table.concat(spec[4], ", ")),
            level + 1)
    end
end

local function unknown(path, section_keys, level)
    local names = {}
    for k in pairs(section_keys) do names[#names + 1] = k end
    table.sort(names)
    error(("recipe: unknown key '%s' (valid here: %s)"):format(path, table.concat(names, ", ")), level + 1)
end

-- The model section: a function, or a table of the generic keys and the architecture's knobs.
function normalize_model(value, out, level)
    if type(value) == "function" then value = {build = value} end
    if type(value) ~= "table" then type_error("model", value, "table or function", level) end
    local arch_name = value.arch
    if arch_name ~= nil then check_value("model.arch", M.SCHEMA.model.arch, arch_name, level) end
    if value.build ~= nil then
        if type(value.build) ~= "function" then type_error("model.build", value.build, "function", level) end
        if arch_name ~= nil then
            error("recipe: 'model.arch' and 'model.build' exclude each other: a named architecture, or a function", level)
        end
        out.arch = nil
    end
    local knobs = {}
    if value.build == nil then
        local arch = M.architecture(arch_name or out.arch, level)
        for _, k in ipairs(arch.KNOBS) do knobs[k[1]] = {k[2], k[3], k[4]} end
    end
    local valid = {}
    for k, spec in pairs(M.SCHEMA.model) do valid[k] = spec end
    for k, spec in pairs(knobs) do valid[k] = spec end
    for k, spec in pairs(knobs) do out[k] = spec[2] end
    for k, v in pairs(value) do
        local spec = valid[k]
        if spec == nil then
            if value.build ~= nil then
                error(("recipe: unknown key 'model.%s' (a model built by a function takes no architecture knobs; "
                    .. "valid: alpha, recompute, refresh)"):format(tostring(k)), level)
            end
            unknown("model." .. tostring(k), valid, level)
        end
        check_value("model." .. k, spec, v, level)
        out[k] = v
    end
    if out.build == false then out.build = nil end
end

--- A full recipe table (defaults filled in) from a user table, validated. Raises naming the key.
function M.normalize(user, level)
    level = (level or 1) + 1
    local out = {}
    for key, spec in pairs(M.TOP) do out[key] = spec[2] end
    for section, keys in pairs(M.SCHEMA) do
        out[section] = {}
        for key, spec in pairs(keys) do out[section][key] = spec[2] end
    end
    out.data.transforms = {}
    if user.model == nil then normalize_model({}, out.model, level) end
    for key, value in pairs(user) do
        if type(key) ~= "string" then error(("recipe: keys must be names, got %s"):format(tostring(key)), level) end
        if M.TOP[key] then
            check_value(key, M.TOP[key], value, level)
            out[key] = value
        elseif key == "model" then
            normalize_model(value, out.model, level + 1)
        elseif M.SCHEMA[key] then
            if type(value) ~= "table" then type_error(key, value, "table", level) end
            for k, v in pairs(value) do
                local spec = M.SCHEMA[key][k]
                if spec == nil then unknown(key .. "." .. tostring(k), M.SCHEMA[key], level) end
                check_value(key .. "." .. k, spec, v, level)
                out[key][k] = v
            end
        else
            local all = {}
            for k in pairs(M.TOP) do all[k] = true end
            for k in pairs(M.SCHEMA) do all[k] = true end
            unknown(key, all, level)
        end
    end
    M.check_ranges(out, level)
    return out
end

--- The settings a checkpoint stores (JSON data: no model function, no Lua transforms), checked as a recipe
-- is; a model built by a function is stored as model.arch = nil, its flow being in the checkpoint's
-- architecture data. Runs no code.
function M.normalize_settings(settings)
    local model = settings.model
    if type(model) == "table" and model.arch == nil then
        local plain = {}
        for k, v in pairs(model) do plain[k] = v end
        plain.build = function() end -- stands for the function the flow was built by
        settings.model = plain
    end
    local r = M.normalize(settings, 2)
    if r.model.build then r.model.build = nil end
    return r
end

--- Sizes and rates that make no sense, before any work starts.
function M.check_ranges(r, level)
    local function positive_int(path, v)
        if v < 1 or v ~= math.floor(v) then
            error(("recipe: '%s' must be a positive integer, got %s"):format(path, tostring(v)), level + 1)
        end
    end
    local function non_negative(path, v)
        if not (v >= 0) then error(("recipe: '%s' must be >= 0, got %s"):format(path, tostring(v)), level + 1) end
    end
    positive_int("eval.batch", r.eval.batch)
    positive_int("eval.draws", r.eval.draws)
    if r.train.batch < 2 or r.train.batch ~= math.floor(r.train.batch) then
        error(("recipe: 'train.batch' must be an integer >= 2 (batch norm), got %s"):format(r.train.batch), level + 1)
    end
    for _, k in ipairs{"lr", "steps", "minutes", "epochs", "l2", "clip", "warmup", "polyak", "log_every"} do
        non_negative("train." .. k, r.train[k])
    end
    -- The image side must survive scales - 1 squeezes; known datasets are checked before loading.
    local side = M.DATASET_SIDES[r.data.dataset]
    if r.data.dataset == "folder" then
        if r.data.size < 1 or r.data.size ~= math.floor(r.data.size) then
            error(("recipe: 'data.size' must be a positive integer for data.dataset = 'folder' (the image side "
                .. "trained on), got %s"):format(r.data.size), level + 1)
        end
        if r.data.channels ~= 1 and r.data.channels ~= 3 then
            error(("recipe: 'data.channels' must be 1 or 3, got %s"):format(r.data.channels), level + 1)
        end
        side = r.data.size
    end
    if r.model.arch then
        local arch = M.architecture(r.model.arch, level + 1)
        local why = arch.check(r.model)
        if why then error(("recipe: model (%s): %s"):format(r.model.arch, why), level + 1) end
        if side then
            local dims = require("nvp.data.transforms").out_dims(r.data.transforms, {channels = 1, height = side,
                width = side})
            side = dims.height == dims.width and dims.height or nil
        end
        why = side and arch.check(r.model, side, side)
        if why and r.model.arch == "realnvp" then
            local valid = {}
            for s = 1, 8 do
                if side % 2 ^ (s - 1) == 0 then valid[#valid + 1] = tostring(s) end
            end
            error(("recipe: 'model.scales' = %d cannot squeeze %s's %dx%d images %d times (valid: %s)"):format(
                r.model.scales, r.data.dataset, side, side, r.model.scales - 1, table.concat(valid, ", ")), level + 1)
        elseif why then
            error(("recipe: model (%s) for %s's %dx%d images: %s"):format(r.model.arch, r.data.dataset, side, side, why),
                level + 1)
        end
    end
    require("nvp.data.transforms").check(r.data.transforms, level + 1)
    if r.model.alpha <= 0 or r.model.alpha >= 0.5 then
        error(("recipe: 'model.alpha' must be in (0, 0.5), got %s"):format(r.model.alpha), level + 1)
    end
    if r.train.polyak >= 1 then
        error(("recipe: 'train.polyak' must be in [0, 1), got %s"):format(r.train.polyak), level + 1)
    end
end

--- Deep-merge overrides (from the command line) into a user table, in place.
function M.merge(user, overrides)
    for k, v in pairs(overrides or {}) do
        if type(v) == "table" and type(user[k]) == "function" then user[k] = {build = user[k]} end -- model
        if type(v) == "table" and type(user[k]) == "table" then
            M.merge(user[k], v)
        elseif type(v) == "table" then
            user[k] = M.merge({}, v)
        else
            user[k] = v
        end
    end
    return user
end

--- Load a recipe file, apply overrides, validate. Returns the full recipe with .text (the file) and
-- .path, or raises with a one-line message.
function M.load(path, overrides)
    local f, err = io.open(path, "r")
    if f == nil then error(("recipe: cannot open %s: %s"):format(path, err), 2) end
    local text = f:read("*a")
    f:close()
    return M.from_text(text, path, overrides, 3)
end

-- env: run the recipe in this table instead of the globals (nvp.run passes a sandbox for the recipe
-- text of a checkpoint, which may come from someone else); precompiled bytecode is then refused.
function M.from_text(text, path, overrides, level, env)
    if env and text:byte(1) == 27 then error(("%s: the recipe is precompiled bytecode; refused"):format(path), 0) end
    local chunk, err = loadstring(text, "@" .. path)
    if chunk == nil then error(err, 0) end
    if env then setfenv(chunk, env) end
    local user = chunk()
    if type(user) ~= "table" then
        error(("recipe: %s must return a table of settings, got %s"):format(path, type(user)), level or 2)
    end
    M.merge(user, overrides)
    local ok, r = pcall(M.normalize, user)
    if not ok then
        -- One line naming the recipe and the key; the library's own file:line would only distract.
        error(("%s: %s"):format(path, tostring(r):gsub("^[^:]*:%d+: ", "")), 0)
    end
    r.text, r.path = text, path
    r.overrides = overrides or {}
    return r
end

--- The schema as text, for `nvp help recipe` and the README.
function M.describe()
    local lines = {}
    local function section(name, keys)
        local names = {}
        for k in pairs(keys) do names[#names + 1] = k end
        table.sort(names)
        for _, k in ipairs(names) do
            local s = keys[k]
            lines[#lines + 1] = ("  %-32s %-8s %-12s %s"):format((name and name .. "." or "") .. k, s[1],
                tostring(s[2]), s[3])
        end
    end
    section(nil, M.TOP)
    local sections = {}
    for k in pairs(M.SCHEMA) do sections[#sections + 1] = k end
    table.sort(sections)
    for _, s in ipairs(sections) do section(s, M.SCHEMA[s]) end
    for _, name in ipairs(M.architectures()) do
        local knobs = {}
        for _, k in ipairs(M.architecture(name).KNOBS) do knobs[k[1]] = {k[2], k[3], k[4]} end
        lines[#lines + 1] = ("model knobs of arch = \"%s\":"):format(name)
        section("model", knobs)
    end
    return table.concat(lines, "\n")
end

return M
