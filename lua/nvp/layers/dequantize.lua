-- nvp.layers.dequantize: uint8 pixels x to continuous values v = x + u, u ~ U[0, 1) drawn from the
-- counter-based stream (element i uses (seed, counter + i): the same numbers for any thread count),
-- or u = 1/2 with noise = false (evaluation without noise). The dequantised NLL bounds the discrete
-- one from above (preprocess.md beside this file). Its inverse is floor(v), clamped to [0, 255].
--
--   pixels: N*C*H*W bytes -> v: (N, C, H, W)
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local Dequantize = Module.class()

function Dequantize.new()
    return Module.init(setmetatable({}, Dequantize))
end

--- pixels: a uint8 pointer to N images of `shape` {C, H, W}; rng: an nvp.rng (its counter advances),
-- or nil / noise = false for u = 1/2.
function Dequantize:forward(pixels, shape, n, rng, noise)
    local v = self:buffer("v", {n, shape[1], shape[2], shape[3]})
    local count = v.numel
    if noise == false or rng == nil then
        for i = 0, count - 1 do v.data[i] = pixels[i] + 0.5 end
    else
        check(C.nvp_dequantize(v.data, pixels, rng.seed, rng:take(count), count), 2)
    end
    return v
end

--- The pixels back: a new uint8 buffer of v.numel bytes.
function Dequantize:inverse(v)
    local px = ffi.new("uint8_t[?]", v.numel)
    check(C.nvp_quantize(px, v.data, v.numel), 2)
    return px
end

function Dequantize:__tostring()
    return "Dequantize(uniform)"
end

registry.register{
    name = "Dequantize", kind = "preprocess",
    doc = "uint8 pixels -> x + u, u ~ U[0, 1) (uniform dequantisation; the model's first layer)",
    args = {{"noise", {"uniform"}, "uniform", "the dequantisation noise"}},
    build = function(_, shape)
        return Dequantize.new(), shape
    end,
    profile = {kind = "data", class = Dequantize, methods = {"forward"}},
}

return Dequantize
