-- nvp.profile: where a training step's wall time goes, per kind of layer, measured by wrapping the
-- methods of a built model's modules from outside (instance fields shadow the class methods; the
-- layer files are untouched). Each wrapped call adds its SELF time (its wall time minus that of the
-- wrapped calls inside it) to its kind, so the kinds partition the time spent inside wrapped calls:
-- a coupling's own time is its fused kernel and mask copies, not its s/t network's convolutions.
-- Calls are synchronous (OpenMP regions end before a kernel returns), so wall time is attributable.
--
--   local profile = require "nvp.profile"
--   local prof = profile.instrument(model, opt)      -- opt (an nvp.optim.Adam) and a clock optional
--   prof:reset(); <one training step>; local ms = prof:totals()   -- {conv = ms, batchnorm = ms, ...}
--
-- Kinds: conv (weight-normalised conv, weight norm included), batchnorm (s/t and flow batch norm,
-- the ReLU fused into it), coupling (the affine coupling's own work), elementwise (the s/t network's
-- own work: concat-ReLU, residual copies, gradient zeroing), squeeze (squeezes, factor-out
-- split/concat), loss (NLL, its gradient, log-det sums), optimizer (gradient zeroing, clipping, Adam),
-- data (dequantise + logit).
local wall_clock = require "nvp.clock"
local flow = require "nvp.flow"
local registry = require "nvp.layers.registry"
local WNConv2d = require "nvp.layers.wnconv"
local BatchNorm = require "nvp.layers.batchnorm"

local M = {}

M.KINDS = {"conv", "batchnorm", "coupling", "elementwise", "squeeze", "loss", "optimizer", "data"}

-- class -> {kind, methods to wrap}; a method the instance does not have is skipped. The layers say
-- their kind in the registry (`profile`); the s/t networks' pieces are listed here.
local CLASSES = {
    {WNConv2d, "conv", {"forward", "forward_act", "backward"}},
    {BatchNorm, "batchnorm", {"forward", "statistics", "backward"}},
}
for _, entry in ipairs(registry.each()) do
    local p = entry.profile
    if p then CLASSES[#CLASSES + 1] = {p.class, p.kind, p.methods} end
end

local Profile = {}
Profile.__index = Profile

--- Zero the per-kind totals (call before each step).
function Profile:reset()
    for _, k in ipairs(M.KINDS) do self.self_time[k] = 0 end
    self.calls = 0
end

--- {kind -> milliseconds of self time since reset}.
function Profile:totals()
    local out = {}
    for _, k in ipairs(M.KINDS) do out[k] = self.self_time[k] * 1e3 end
    return out
end

-- Replace obj[name] by a timing wrapper that books self time to `kind`.
local function wrap(prof, obj, name, kind)
    local inner = obj[name]
    if type(inner) ~= "function" then return end
    local stack, now = prof.stack, prof.clock
    obj[name] = function(...)
        local depth = #stack + 1
        stack[depth] = 0                         -- time of wrapped calls nested in this one
        local t0 = now()
        local r1, r2, r3 = inner(...)
        local dt = now() - t0
        local nested = stack[depth]
        stack[depth] = nil
        if depth > 1 then stack[depth - 1] = stack[depth - 1] + dt end
        prof.self_time[kind] = prof.self_time[kind] + (dt - nested)
        prof.calls = prof.calls + 1
        return r1, r2, r3
    end
end

local function kind_of(obj)
    local mt = getmetatable(obj)
    for _, entry in ipairs(CLASSES) do
        if mt == entry[1] then return entry end
    end
    return nil
end

-- Wrap every module reachable from `obj` through its fields (children and helpers such as a
-- Scale's squeeze, which is not a registered child), each once.
local function instrument_tree(prof, obj, seen)
    if seen[obj] then return end
    seen[obj] = true
    local entry = kind_of(obj)
    if entry then
        prof.modules[entry[2]] = (prof.modules[entry[2]] or 0) + 1
        for _, name in ipairs(entry[3]) do wrap(prof, obj, name, entry[2]) end
    end
    for key, v in pairs(obj) do
        if type(v) == "table" and key ~= "_params" and key ~= "_grads" and key ~= "_buffers" and key ~= "_scratch" then
            instrument_tree(prof, v, seen)
        end
    end
end

--- Instrument a flow model (nvp.flow) (and its optimiser `opt`) in place; returns the profile.
-- clock: a function returning seconds (default: the monotonic wall clock, nvp.clock).
function M.instrument(model, opt, clock)
    assert(getmetatable(model) == flow.Flow, "profile.instrument: expects an nvp.flow model")
    local prof = setmetatable({self_time = {}, stack = {}, modules = {}, clock = clock or wall_clock}, Profile)
    prof:reset()
    instrument_tree(prof, model, {})
    wrap(prof, model, "preprocess", "data")
    for _, name in ipairs{"loss", "nll_from", "backward"} do wrap(prof, model, name, "loss") end
    wrap(prof, model, "zero_grad", "optimizer")
    if opt then wrap(prof, opt, "step", "optimizer") end
    return prof
end

return M
