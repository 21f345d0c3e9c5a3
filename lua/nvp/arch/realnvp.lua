-- Real NVP (Dinh, Sohl-Dickstein, Bengio, ICLR 2017, Sec. 3.6; docs/REFERENCE.md 2.2), written with the
-- public layer library: copy this function into a recipe (model = function(nn, dims) ... end) to edit it.
--
-- Level k of S works on 2^k C channels of (H / 2^k) x (W / 2^k) with
-- s/t width F 2^k: levels before the last have 3 checkerboard couplings (parities 0, 1, 0), a squeeze
-- (order A), 3 channel-wise couplings (parities 0, 1, 0; s/t width 2 F 2^k), the unsqueeze, and then
-- factor out half (nn.MultiScale adds the FactorOut); the last level has 4 checkerboard couplings
-- (0, 1, 0, 1). Optional batch norm as a flow layer after every coupling (paper Sec. 3.7).
local M = {}

M.doc = "the paper's multi-scale Real NVP"

-- name, type, default, doc (the recipe's model.<name> keys)
M.KNOBS = {
    {"scales", "number", 2, "number of scales (the image side must be a multiple of 2^(scales-1))"},
    {"width", "number", 32, "feature maps of the s/t networks at the first scale (doubles per scale)"},
    {"blocks", "number", 4, "residual blocks per s/t network"},
    {"flow_batchnorm", "boolean", false, "batch norm as a flow layer after every coupling (paper 3.7)"},
}

--- The flow for images of dims {channels, height, width}, as an nvp.nn description.
function M.build(nn, dims, knobs)
    local S, F, B = knobs.scales, knobs.width, knobs.blocks
    local function coupling(mask, parity, width, layers)
        layers[#layers + 1] = nn.Coupling{mask = mask, parity = parity, net = nn.ResNet{width = width, blocks = B}}
        if knobs.flow_batchnorm then layers[#layers + 1] = nn.FlowBatchNorm{} end
    end
    local levels = {}
    for k = 0, S - 1 do
        local f = F * 2 ^ k
        local layers = {}
        if k == S - 1 then
            for i = 0, 3 do coupling("checkerboard", i % 2, f, layers) end
        else
            for i = 0, 2 do coupling("checkerboard", i % 2, f, layers) end
            layers[#layers + 1] = nn.Squeeze{order = "A"}
            for i = 0, 2 do coupling("channel", i % 2, 2 * f, layers) end
            layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
        end
        levels[#levels + 1] = nn.Sequence(layers)
    end
    return nn.MultiScale(levels)
end

--- nil, or why the knobs cannot make a model for images of height x width.
function M.check(knobs, height, width)
    for _, key in ipairs{"scales", "width", "blocks"} do
        local v = knobs[key]
        if v < 1 or v ~= math.floor(v) then return ("'%s' must be a positive integer, got %s"):format(key, v) end
    end
    local m = 2 ^ (knobs.scales - 1)
    if height and (height % m ~= 0 or width % m ~= 0) then
        return ("a %dx%d image cannot be squeezed %d times: with scales = %d the sides must be multiples of %d")
            :format(height, width, knobs.scales - 1, knobs.scales, m)
    end
end

--- One line for logs and the page.
function M.summary(knobs)
    return ("%d scales, width %d, %d blocks%s"):format(knobs.scales, knobs.width, knobs.blocks,
        knobs.flow_batchnorm and ", flow batch norm" or "")
end

return M
