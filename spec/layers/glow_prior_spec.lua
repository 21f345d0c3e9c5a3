-- Glow's learned priors as flow layers (nn.SplitPrior, nn.TopPrior, nn.ClassPrior; issue 19): they
-- start as the identity, so a fresh model's likelihood is the standard-normal one bit for bit; the
-- class-conditional model's likelihood depends on the label, class_nll gives -log p(x | k) for every
-- k, and samples of a class decode and encode back under that class. (The three registry specs,
-- finite differences of the class prior's gradient among them, are flow_layers_spec.lua's.)
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nn = require "nvp.nn"
local flow = require "nvp.flow"

local DIMS = {channels = 1, height = 8, width = 8}

-- A small two-level Glow; priors = true adds the learned priors and the class prior.
local function glow(priors)
    local levels = {}
    for level = 1, 2 do
        local layers = {nn.Squeeze{order = "A"}}
        for k = 1, 2 do
            layers[#layers + 1] = nn.ActNorm{}
            layers[#layers + 1] = nn.InvConv1x1{}
            layers[#layers + 1] = nn.GlowCoupling{parity = k % 2, net = nn.ConvNet{width = 6}}
        end
        layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
        if priors and level == 1 then layers[#layers + 1] = nn.SplitPrior{} end
        if priors and level == 2 then
            layers[#layers + 1] = nn.TopPrior{}
            layers[#layers + 1] = nn.ClassPrior{classes = 4}
        end
        levels[level] = nn.Sequence(layers)
    end
    return flow.new(nn.MultiScale(levels), DIMS, {seed = 5})
end

local function pixels(n, seed)
    local px = ffi.new("uint8_t[?]", n * 64)
    local g = Rng.new(seed)
    for i = 0, n * 64 - 1 do px[i] = math.floor(g:random() * 256) end
    return px
end

-- Move every parameter away from its start (the priors' zeros included).
local function perturb(model)
    local g = Rng.new(9)
    model:each_parameter(function(_, p) p:add(g:normal(T.empty(p.shape), 0, 0.05)) end)
end

describe("learned priors", function()
    it("start as the identity: a fresh model's NLL equals the standard-normal model's, bit for bit", function()
        local plain, with = glow(false), glow(true)
        local px = pixels(6, 1)
        local _, _, a = plain:loss(px, 6, Rng.new(2))
        local _, _, b = with:loss(px, 6, Rng.new(2), nil, {[0] = 0, 1, 2, 3, 0, 1})
        assert.are.equal(0, a:max_abs_diff(b))
    end)

    it("the class-conditional model's likelihood depends on the label; class_nll is -log p(x | k)", function()
        local model = glow(true)
        assert.is_true(model:is_conditional())
        assert.are.equal(4, model.cfg.classes)
        local px = pixels(5, 3)
        model:loss(px, 5, Rng.new(1)) -- initialises the actnorms
        perturb(model)
        model:evaluate()
        local by_class = model:class_nll(px, 5, Rng.new(4))
        for k = 0, 3 do
            local _, _, nll = model:loss(px, 5, Rng.new(4), nil, k)
            assert.are.equal(0, nll:max_abs_diff(by_class[k]))
        end
        assert.is_true(by_class[0]:max_abs_diff(by_class[1]) > 1e-3)
        -- without labels: the unconditional row, another density
        model:set_labels(nil)
        local _, _, none = model:loss(px, 5, Rng.new(4))
        assert.is_true(none:max_abs_diff(by_class[0]) > 1e-3)
    end)

    it("samples of class k encode back to their latents under class k (and not under another)", function()
        local model = glow(true)
        model:loss(pixels(4, 3), 4, Rng.new(1))
        perturb(model)
        model:evaluate()
        model:set_labels(2)
        local z = Rng.new(6):normal(T.empty{3, 1, 8, 8}, 0, 0.7)
        local x = model:inverse(z):clone()
        local back = model:forward(x)
        assert_close(back, z, 1e-4, 1e-4, "class 2 round trip")
        model:set_labels(1)
        assert.is_true(model:forward(x):max_abs_diff(z) > 1e-3)
    end)

    it("spatial: a mean and log-std per class and position, y = (x + b[k, c, i, j]) exp(s[k, c, i, j])", function()
        local nnb = require "nvp.nn"
        local prior = nnb.build(nn.ClassPrior{classes = 3, spatial = true}, {2, 3, 2}, {rng = Rng.new(1)})
        assert.are.same({4, 12}, prior._params.logs.shape)
        local g = Rng.new(3)
        g:normal(prior._params.logs, 0, 0.3)
        g:normal(prior._params.bias)
        local x = g:normal(T.empty{2, 2, 3, 2})
        prior:set_labels({[0] = 2, 0})
        local y, logdet = prior:forward(x)
        for i = 0, 1 do
            local k, sum = i == 0 and 2 or 0, 0
            for e = 0, 11 do
                local s, b = prior._params.logs.data[k * 12 + e], prior._params.bias.data[k * 12 + e]
                assert_close(y.data[i * 12 + e], (x.data[i * 12 + e] + b) * math.exp(s), 1e-6, 1e-5)
                sum = sum + s
            end
            assert_close(logdet.data[i], sum, 1e-6, 1e-5)
        end
        assert.matches("class prior: input (1,2,2,2), expected (N,2,3,2) (spatial", error_of(prior.forward, prior,
            T.zeros{1, 2, 2, 2}), 1, true)
    end)

    it("names a label outside the classes", function()
        local model = glow(true)
        assert.matches("model: class 4 is not in [0, 4)", error_of(model.set_labels, model, 4), 1, true)
        model:set_labels({[0] = 1, 7})
        assert.matches("class prior: label 7 of image 1 is not a class in [0, 4)",
            error_of(model.loss, model, pixels(2, 1), 2, Rng.new(1)), 1, true)
    end)
end)
