-- nvp.layers.sequence: flow layers applied one after another; log-dets add up.
--   forward(x) -> y, logdet (N);  inverse(y) -> x;  backward(x, dy, dlogdet) -> dx
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
    for i = #self.layers, 1, -1 do
        dy = self.layers[i]:backward(self.inputs[i], dy, dlogdet)
    end
    return dy
end

function Sequence:__tostring()
    local lines = {self.name .. " {"}
    for _, layer in ipairs(self.layers) do lines[#lines + 1] = "  " .. tostring(layer):gsub("\n", "\n  ") end
    lines[#lines + 1] = "}"
    return table.concat(lines, "\n")
end

return Sequence
