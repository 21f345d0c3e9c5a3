-- model:inference(fn) (nvp.flow): evaluation and sampling run with the flow's layers sharing buffers, so a
-- forward or inverse keeps two layers' activations instead of every layer's; the same numbers; every
-- module gets its own buffers back afterwards (and the refresh plan's sharing), on error too.
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nn = require "nvp.nn"
local flow = require "nvp.flow"

local DIMS = {channels = 1, height = 8, width = 8}

local function glow()
    local levels = {}
    for level = 1, 2 do
        local layers = {nn.Squeeze{order = "A"}}
        for k = 1, 3 do
            layers[#layers + 1] = nn.ActNorm{}
            layers[#layers + 1] = nn.InvConv1x1{}
            layers[#layers + 1] = nn.GlowCoupling{parity = k % 2, net = nn.ConvNet{width = 8}}
        end
        layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
        levels[level] = nn.Sequence(layers)
    end
    return flow.new(nn.MultiScale(levels), DIMS, {seed = 3})
end

local function pixels(n, seed)
    local px = ffi.new("uint8_t[?]", n * 64)
    local g = Rng.new(seed)
    for i = 0, n * 64 - 1 do px[i] = math.floor(g:random() * 256) end
    return px
end

-- Bytes of the buffers the modules own (their scratch), over the whole model.
local function own_bytes(model)
    local n = 0
    local function walk(m)
        for _, t in pairs(m._scratch) do n = n + t.numel * 4 end
        for _, child in ipairs(m._children) do walk(child.module) end
    end
    walk(model)
    return n
end

describe("model:inference", function()
    it("computes the stored path's numbers while the layers share buffers, then gives them back", function()
        local model = glow()
        local px = pixels(6, 1)
        model:loss(px, 6, Rng.new(2)) -- initialises the actnorms
        local x = model:preprocess(px, 6, Rng.new(4)):clone()
        model:evaluate()
        local z_own = model:forward(x):clone()
        local z_shared, back = model:inference(function()
            local z = model:forward(x):clone()
            return z, model:inverse(z):clone()
        end)
        assert.are.equal(0, z_shared:max_abs_diff(z_own))
        assert_close(back, x, 1e-4, 1e-4, "round trip while sharing")
        -- evaluation mode still runs backward (gradients under the running statistics)
        model:loss(px, 6, Rng.new(2))
        model:backward()
        -- and an error inside gives the buffers back too
        assert.matches("boom", error_of(model.inference, model, function() error("boom", 0) end), 1, true)
        model:train()
        local _, _, nll = model:loss(px, 6, Rng.new(2))
        model:backward()
        assert.is_true(nll.data[0] == nll.data[0])
    end)

    it("holds a fraction of the stored path's activations in a forward", function()
        local sharing, storing = glow(), glow()
        local x = Rng.new(5):normal(T.empty{32, 1, 8, 8})
        sharing:evaluate()
        storing:evaluate()
        sharing:inference(function() sharing:forward(x) end)
        storing:forward(x)
        local shared, owned = own_bytes(sharing), own_bytes(storing)
        -- 6 couplings' networks and 12 more layers own their activations on the stored path; while
        -- sharing only the top sequences' log-dets and the factored-out half are their own
        assert.is_true(shared * 10 < owned, ("sharing owns %d bytes, storing %d"):format(shared, owned))
    end)

    it("gives a model with refresh its plan back", function()
        local m = flow.RealNVP.new{channels = 1, size = 8, scales = 2, width = 4, blocks = 1, refresh = 1}
        local before = {}
        local function walk(mod, fn)
            fn(mod)
            for _, child in ipairs(mod._children) do walk(child.module, fn) end
        end
        walk(m.flow, function(mod) before[mod] = mod._shared or false end)
        m:sample(2, Rng.new(3))
        walk(m.flow, function(mod) assert.are.equal(before[mod], mod._shared or false) end)
        local _, _, nll = m:loss(pixels(4, 2), 4, Rng.new(1))
        m:backward()
        assert.is_true(nll.data[0] == nll.data[0])
    end)
end)
