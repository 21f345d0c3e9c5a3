-- nvp.nn: the flow-layer library recipes compose (torch/nn in spirit). Each registered layer is a
-- constructor with named arguments that returns a *description*: plain data, checked at once, which
-- nn.build turns into modules for an input shape (channels are inferred, not repeated).
--
--   local nn = require "nvp.nn"
--   local flow = nn.Sequence{
--       nn.Coupling{mask = "checkerboard", parity = 0, net = nn.ResNet{width = 64, blocks = 8}},
--       nn.Squeeze{order = "A"},
--       nn.Coupling{mask = "channel", parity = 1},
--   }
--   local module, out_shape = nn.build(flow, {3, 32, 32}, {rng = require("nvp.rng").new(0)})
--
-- A description's data (desc:data(), JSON-ready: {layer = "Coupling", mask = ..., net = {...}}) is what
-- a checkpoint stores; nn.from_data checks such a table as strictly as the constructors do and gives
-- the description back, so a checkpoint's model is rebuilt from data alone, never from code.
-- nn.MultiScale{level1, ..., levelL} is the paper's multi-scale architecture (Sec. 3.6): each level
-- but the last is followed by a FactorOut whose inner flow is the next level.
local registry = require "nvp.layers.registry"

local M = {}

local Desc = {}
Desc.__index = Desc
M.Desc = Desc

local function is_desc(v) return getmetatable(v) == Desc end
M.is_desc = is_desc

local MAX_LAYERS = 100000 -- descriptions read from a file: more nodes than any sane model

local function fail(where, msg, level)
    error(("%s: %s"):format(where, msg), level + 1)
end

-- Check one argument value against its declared type; returns the value (descriptions converted
-- from data when from_data is set).
local function check_arg(where, spec, v, convert, level)
    local t = spec[2]
    if type(t) == "table" then
        for _, allowed in ipairs(t) do
            if v == allowed then return v end
        end
        fail(where, ("'%s' must be one of %s, got %s"):format(spec[1], table.concat(t, ", "), tostring(v)), level + 1)
    elseif t == "integer" then
        if type(v) ~= "number" or v ~= math.floor(v) or v ~= v or math.abs(v) > 2 ^ 31 then
            fail(where, ("'%s' must be an integer, got %s"):format(spec[1], tostring(v)), level + 1)
        end
    elseif t == "number" then
        if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
            fail(where, ("'%s' must be a finite number, got %s"):format(spec[1], tostring(v)), level + 1)
        end
    elseif t == "boolean" or t == "string" then
        if type(v) ~= t then fail(where, ("'%s' must be a %s, got %s"):format(spec[1], t, type(v)), level + 1) end
    elseif t == "layer" or t == "net" then
        if convert then v = convert(v, where .. "." .. spec[1]) end
        if not is_desc(v) then
            fail(where, ("'%s' must be a layer description (e.g. nn.%s{...}), got %s"):format(spec[1],
                t == "net" and "ResNet" or "Coupling", type(v)), level + 1)
        end
        local kind = registry.get(v.layer).kind
        if (t == "net") ~= (kind == "net") then
            fail(where, ("'%s' must be %s, got %s (a %s layer)"):format(spec[1], t == "net" and "a network" or
                "a flow layer", v.layer, kind), level + 1)
        end
    elseif t == "layers" then
        if type(v) ~= "table" then fail(where, ("'%s' must be a list of layers"):format(spec[1]), level + 1) end
        local out = {}
        for i = 1, #v do
            local item = v[i]
            if convert then item = convert(item, ("%s[%d]"):format(where, i)) end
            if not is_desc(item) then
                fail(where, ("item %d is not a layer description, got %s"):format(i, type(item)), level + 1)
            end
            out[i] = item
        end
        for k in pairs(v) do
            if type(k) ~= "number" or k < 1 or k > #v or k ~= math.floor(k) then
                fail(where, ("'%s' must be a list (got key %s)"):format(spec[1], tostring(k)), level + 1)
            end
        end
        return out
    end
    if spec.check then
        local msg = spec.check(v)
        if msg then fail(where, ("'%s' %s"):format(spec[1], msg), level + 1) end
    end
    return v
end

-- A description of `entry` from named args (defaults filled, every value checked).
local function describe(entry, given, where, convert, level)
    local args = {}
    for k in pairs(given) do
        if k ~= "layer" and entry.arg_index[k] == nil then
            local valid = {}
            for _, a in ipairs(entry.args) do valid[#valid + 1] = a[1] end
            fail(where, ("unknown argument '%s' (valid: %s)"):format(tostring(k),
                #valid > 0 and table.concat(valid, ", ") or "none"), level + 1)
        end
    end
    for _, spec in ipairs(entry.args) do
        local v = given[spec[1]]
        if v == nil then
            v = spec[3]
            if type(v) == "function" then v = v() end -- a fresh default description
            if v == nil and not spec.optional then fail(where, ("argument '%s' is required"):format(spec[1]), level + 1) end
        end
        if v ~= nil then args[spec[1]] = check_arg(where, spec, v, convert, level + 1) end
    end
    return setmetatable({layer = entry.name, args = args}, Desc)
end

--- The constructor of a registered layer: nn.Name{...}. Positional items (nn.Sequence{a, b}) go to
-- the entry's `positional` argument.
local function constructor(entry)
    return function(given)
        given = given or {}
        if type(given) ~= "table" or is_desc(given) then
            error(("nn.%s: expects a table of named arguments, e.g. nn.%s{...}"):format(entry.name, entry.name), 2)
        end
        local named = {}
        for k, v in pairs(given) do
            if type(k) ~= "number" then named[k] = v end
        end
        if #given > 0 then
            if not entry.positional then
                error(("nn.%s: takes named arguments only"):format(entry.name), 2)
            end
            local list = {}
            for i = 1, #given do list[i] = given[i] end
            named[entry.positional] = list
        end
        return describe(entry, named, "nn." .. entry.name, nil, 2)
    end
end

--- JSON-ready data of a description: {layer = name, arg = value, ...} with nested descriptions as data.
function Desc:data()
    local out = {layer = self.layer}
    for k, v in pairs(self.args) do
        if is_desc(v) then
            out[k] = v:data()
        elseif type(v) == "table" then
            local list = {}
            for i, item in ipairs(v) do list[i] = item:data() end
            out[k] = list
        else
            out[k] = v
        end
    end
    return out
end

function Desc:__tostring()
    return ("nn.%s{...}"):format(self.layer)
end

--- A description from data (a decoded checkpoint field, say): every layer name, argument and value
-- checked as the constructors check them; raises one line naming the place. Runs no code.
function M.from_data(data, where)
    registry.load_all()
    local count = 0
    local function convert(t, at)
        if is_desc(t) then return t end
        if type(t) ~= "table" then fail(at, ("expected a layer (a table with 'layer'), got %s"):format(type(t)), 3) end
        count = count + 1
        if count > MAX_LAYERS then fail(at, ("more than %d layers"):format(MAX_LAYERS), 3) end
        local name = t.layer
        local entry = type(name) == "string" and registry.get(name)
        if not entry then fail(at, ("unknown layer '%s' (nvp help layers lists them)"):format(tostring(name)), 3) end
        return describe(entry, t, at .. "(" .. name .. ")", convert, 3)
    end
    return convert(data, where or "model")
end

--- Modules of description `desc` for inputs of shape {C, H, W}. ctx: rng (initial weights; required),
-- and what the layers pass down while building. Returns the module and its output shape.
function M.build(desc, shape, ctx)
    assert(ctx and ctx.rng, "nn.build: ctx.rng (an nvp.rng) is required for the initial weights")
    ctx.build = ctx.build or M.build
    ctx.path = ctx.path or "model"
    local entry = registry.get(desc.layer)
    local module, out = entry.build(desc.args, shape, ctx)
    module.desc, module.in_shape, module.out_shape = desc, shape, out
    return module, out
end

--- nn.MultiScale{level1, ..., levelL}: level k, then a FactorOut whose inner flow is level k + 1.
function M.MultiScale(levels)
    if type(levels) ~= "table" or #levels == 0 then error("nn.MultiScale: expects a list of levels", 2) end
    local inner = levels[#levels]
    for k = #levels - 1, 1, -1 do
        local layers = {}
        local level = levels[k]
        if level.layer == "Sequence" then
            for i, l in ipairs(level.args.layers) do layers[i] = l end
        else
            layers[1] = level
        end
        layers[#layers + 1] = M.FactorOut{inner = inner}
        inner = M.Sequence(layers)
    end
    return inner
end

registry.load_all()
for _, entry in ipairs(registry.each()) do M[entry.name] = constructor(entry) end
M.registry = registry

return M
