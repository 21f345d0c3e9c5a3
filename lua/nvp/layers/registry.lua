-- nvp.layers.registry: the one list of layers a recipe can compose (nvp.nn), that `nvp help layers`,
-- the profiler, the checkpoint reader and the specs read.
--
-- Every file in lua/nvp/layers/ that defines a layer registers it when loaded, and load_all() loads
-- every file of that folder, so adding a layer is its file (and its specs): nothing else to wire.
--
--   registry.register{
--       name = "Squeeze", kind = "flow", doc = "one line",
--       args = {{"order", {"A", "B"}, "A", "what it means"}, ...},   -- name, type, default, doc
--       build = function(args, shape, ctx) return module, out_shape end,  -- shape = {C, H, W}
--       profile = {kind = "squeeze", class = Squeeze, methods = {"forward", "inverse", "backward"}},
--       examples = {{args = {order = "A"}, shape = {2, 3, 4, 2}}, ...},   -- the registry specs' cases
--   }
--
-- kind: "flow" (a bijection on (N, C, H, W) with its log-det: the registry specs run over these),
-- "net" (an s/t network: shape = {inputs, outputs, H, W}), "preprocess" (pixels in; own specs).
-- Types: "number", "integer", "boolean", "string", a list of allowed strings, "layer" (a description
-- of a flow layer), "layers" (a list of them), "net" (a description of a network).
local M = {}

local entries = {}
local KINDS = {flow = true, net = true, preprocess = true}
local TYPES = {number = true, integer = true, boolean = true, string = true, layer = true, layers = true, net = true}

function M.register(entry)
    assert(type(entry.name) == "string" and entry.name:match("^%u%w*$"), "registry: a layer needs a CamelCase name")
    assert(KINDS[entry.kind], "registry: " .. entry.name .. ": kind must be flow, net or preprocess")
    assert(type(entry.build) == "function", "registry: " .. entry.name .. ": build function missing")
    assert(type(entry.doc) == "string", "registry: " .. entry.name .. ": doc line missing")
    if entries[entry.name] and entries[entry.name] ~= entry then
        error(("registry: a layer named '%s' is already registered"):format(entry.name), 2)
    end
    entry.args = entry.args or {}
    entry.arg_index = {}
    for _, a in ipairs(entry.args) do
        assert(type(a[2]) == "table" or TYPES[a[2]], "registry: " .. entry.name .. "." .. a[1] .. ": unknown type")
        entry.arg_index[a[1]] = a
    end
    entries[entry.name] = entry
    return entry
end

function M.get(name)
    return entries[name]
end

local loaded = false

-- The folder of this file (lua/nvp/layers), from the module search path.
local function layers_dir()
    local path = package.searchpath("nvp.layers.registry", package.path)
    return path and path:match("^(.*)/[^/]+$")
end

--- Load every layer file of lua/nvp/layers/ (each registers what it defines). Idempotent.
function M.load_all()
    if loaded then return end
    loaded = true
    local dir = layers_dir()
    local ok, lfs = pcall(require, "lfs")
    assert(ok and dir, "registry: cannot list lua/nvp/layers")
    local names = {}
    for file in lfs.dir(dir) do
        local name = file:match("^([%w_]+)%.lua$")
        if name and name ~= "registry" then names[#names + 1] = name end
    end
    table.sort(names)
    for _, name in ipairs(names) do require("nvp.layers." .. name) end
end

--- Every entry, sorted by kind then name; kind (optional) filters.
function M.each(kind)
    M.load_all()
    local out = {}
    for _, e in pairs(entries) do
        if kind == nil or e.kind == kind then out[#out + 1] = e end
    end
    table.sort(out, function(a, b)
        if a.kind ~= b.kind then return a.kind < b.kind end
        return a.name < b.name
    end)
    return out
end

--- A readable type name for messages and help.
function M.type_name(t)
    if type(t) == "table" then return table.concat(t, "|") end
    return t
end

--- The registry as text, for `nvp help layers`.
function M.describe()
    local lines = {}
    for _, e in ipairs(M.each()) do
        lines[#lines + 1] = ("%s{...}  [%s]  %s"):format(e.name, e.kind, e.doc)
        for _, a in ipairs(e.args) do
            local default = a[3]
            if type(default) == "function" then default = default() end
            if type(default) == "table" then default = default.layer and (default.layer .. "{}") or "{}" end
            lines[#lines + 1] = ("    %-16s %-22s %-14s %s"):format(a[1], M.type_name(a[2]),
                default == nil and "(required)" or tostring(default), a[4] or "")
        end
    end
    return table.concat(lines, "\n")
end

return M
