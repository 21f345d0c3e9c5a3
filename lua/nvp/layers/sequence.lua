-- nvp.layers.sequence: flow layers applied one after another; log-dets add up.
--   forward(x) -> y, logdet (N);  inverse(y) -> x;  backward(x, dy, dlogdet) -> dx
--   backward_by_inverse(y, dy, dlogdet) -> dx, x   (from the output alone: recompute-by-inverse)
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"

local Sequence = Module.class()

function Sequence.new(layers, name)
    local self = Module.init(setmetatable({}, Sequence))
    self.layers = {}
    self.name = name or "Sequence"
    for i, layer in ipairs(layers) do
        self.layers[i] = self:add(tostring(i), layer)
    end
    return self
end

function Sequence:forward(x)
    self.inputs = self.inputs or {}
    local logdet
    for i, layer in ipairs(self.layers) do
        self.inputs[i] = x
        local ld
        x, ld = layer:forward(x)
        if ld ~= nil then
            if logdet == nil then
                logdet = self:buffer("logdet", ld.shape):copy(ld)
            else
                logdet:add(ld)
            end
        end
    end
    if logdet == nil then logdet = self:zeroed("logdet", {x.shape[1]}) end
    return x, logdet
end

function Sequence:inverse(y)
    for i = #self.layers, 1, -1 do y = self.layers[i]:inverse(y) end
    return y
end

function Sequence:backward(x, dy, dlogdet)
    if self.shared then
        error("sequence: the layers share their buffers (recompute), so their inputs are gone: use "
            .. "backward_by_inverse", 2)
    end
    for i = #self.layers, 1, -1 do
        dy = self.layers[i]:backward(self.inputs[i], dy, dlogdet)
    end
    return dy
end

--- Neighbours take alternate buffer sets (prefix .. "0." / "1."), so a layer never writes into the
-- buffer its input (the previous layer's output) lives in; the sequence's own buffers stay its own.
-- A FactorOut passes the sequence's own prefix on to its inner flow (which runs after every layer
-- before it is done with its buffers), so every level of a multi-scale flow draws on one set.
function Sequence:share_buffers(prefix)
    self.shared = true
    for i, layer in ipairs(self.layers) do
        layer:share_buffers(layer.shares_parent_buffers and prefix or prefix .. i % 2 .. ".")
    end
    return self
end

--- The latents of z per level, finest first: the last layer's, when it factors out (FactorOut).
function Sequence:split_latents(z)
    local last = self.layers[#self.layers]
    if last and last.split_latents then return last:split_latents(z) end
    return {z:clone()}
end

function Sequence:join_latents(parts, k)
    local last = self.layers[#self.layers]
    if last and last.join_latents then return last:join_latents(parts, k) end
    return parts[k or 1]:clone()
end

--- y: this sequence's output of the last forward. Walks the layers backwards, each rebuilding its
-- input from its output, so only the current layer's activations are alive.
function Sequence:backward_by_inverse(y, dy, dlogdet)
    for i = #self.layers, 1, -1 do
        dy, y = self.layers[i]:backward_by_inverse(y, dy, dlogdet)
    end
    return dy, y
end

function Sequence:__tostring()
    local lines = {self.name .. " {"}
    for _, layer in ipairs(self.layers) do lines[#lines + 1] = "  " .. tostring(layer):gsub("\n", "\n  ") end
    lines[#lines + 1] = "}"
    return table.concat(lines, "\n")
end

registry.register{
    name = "Sequence", kind = "flow",
    doc = "flow layers applied one after another; their log-dets add up",
    positional = "layers",
    args = {{"layers", "layers", nil, "the layers, in forward order (positional: nn.Sequence{a, b, c})"},
            {"name", "string", "Sequence", "a label for printing"}},
    build = function(args, shape, ctx)
        local layers, path = {}, ctx.path
        for i, d in ipairs(args.layers) do
            ctx.path = path .. "." .. i
            layers[i], shape = ctx.build(d, shape, ctx)
        end
        ctx.path = path
        return Sequence.new(layers, args.name), shape
    end,
    profile = {kind = "loss", class = Sequence, methods = {"forward", "inverse", "backward"}}, -- adds log-dets
    examples = {
        {args = function(nn) return {layers = {nn.Squeeze{order = "A"}, nn.Coupling{mask = "channel", parity = 1,
            net = nn.ResNet{width = 3, blocks = 1}}, nn.Squeeze{order = "A", inverse = true}}} end, shape = {2, 4, 4}},
    },
}

return Sequence
