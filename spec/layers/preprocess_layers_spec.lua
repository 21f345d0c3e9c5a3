-- The preprocessing layers (registry kind "preprocess"): nn.Dequantize's own specs, since its input
-- is pixels, not a tensor the three flow-layer specs can perturb.
local ffi = require "ffi"
local nn = require "nvp.nn"
local Rng = require "nvp.rng"
local registry = require "nvp.layers.registry"

describe("preprocessing layers", function()
    it("are Dequantize alone (a new one needs its specs here)", function()
        local names = {}
        for _, e in ipairs(registry.each("preprocess")) do names[#names + 1] = e.name end
        assert.are.same({"Dequantize"}, names)
    end)

    it("Dequantize: v in [x, x + 1), the pixels back by its inverse, the noise a function of the stream", function()
        local layer = nn.build(nn.Dequantize{}, {2, 3, 4}, {rng = Rng.new(0)})
        local n = 3
        local px = ffi.new("uint8_t[?]", n * 24)
        for i = 0, n * 24 - 1 do px[i] = (i * 41) % 256 end
        local v = layer:forward(px, {2, 3, 4}, n, Rng.new(5)):clone()
        for i = 0, n * 24 - 1 do
            assert.is_true(v.data[i] >= px[i] and v.data[i] < px[i] + 1, ("v[%d] = %g for x = %d"):format(i, v.data[i], px[i]))
        end
        local back = layer:inverse(v)
        for i = 0, n * 24 - 1 do assert.are.equal(px[i], back[i]) end
        assert.are.equal(0, v:max_abs_diff(layer:forward(px, {2, 3, 4}, n, Rng.new(5))))
        local mid = layer:forward(px, {2, 3, 4}, n, nil, false)
        for i = 0, n * 24 - 1 do assert.are.equal(px[i] + 0.5, mid.data[i]) end
    end)
end)
