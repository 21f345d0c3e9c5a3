-- nvp.layers.sequence: flow layers applied one after another; log-dets add up.
--   forward(x) -> y, logdet (N);  inverse(y) -> x;  backward(x, dy, dlogdet) -> dx
--   backward_by_inverse(y, dy, dlogdet) -> dx, x   (from the output alone: recompute-by-inverse)
local Module = require "nvp.layers.module"

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
function Sequence:share_buffers(prefix)
    self.shared = true
    for i, layer in ipairs(self.layers) do layer:share_buffers(prefix .. i % 2 .. ".") end
    return self
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

return Sequence
