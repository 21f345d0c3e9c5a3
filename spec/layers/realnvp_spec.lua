-- The whole model: exact inverse, exact log-det, exact gradients, and the reference parameter counts.
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local flow = require "nvp.flow"

local function perturb(model, seed, std)
    local g = Rng.new(seed)
    model:each_parameter(function(_, p) p:add(g:normal(T.empty(p.shape), 0, std or 0.05)) end)
    return model
end

describe("RealNVP", function()
    it("has the peer's parameter counts for cifar-ref and fmnist-small (docs/REFERENCE.md 2.6)", function()
        assert.are.equal(19631640, flow.RealNVP.new{channels = 3, size = 32, scales = 2, width = 64, blocks = 8}
            :parameter_count())
        assert.are.equal(2487112, flow.RealNVP.new{channels = 1, size = 28, scales = 2, width = 32, blocks = 4}
            :parameter_count())
    end)

    it("refuses sizes the scales cannot squeeze, naming the valid multiple", function()
        assert.matches("a 30x30 image cannot be squeezed 2 times: with scales = 3 the sides must be multiples of 4",
            error_of(function() flow.RealNVP.new{channels = 1, size = 30, scales = 3, width = 4, blocks = 1} end), 1, true)
        assert.matches("unknown option 'widht'", error_of(function() flow.RealNVP.new{widht = 3} end), 1, true)
    end)

    for _, case in ipairs{{1, 28, 2}, {3, 32, 3}} do
        local c, size, scales = case[1], case[2], case[3]
        it(("inverts exactly at %dx%dx%d (%d scales)"):format(c, size, size, scales), function()
            local model = perturb(flow.RealNVP.new{channels = c, size = size, scales = scales, width = 8, blocks = 1,
                                                   seed = 3}, 4)
            local x = Rng.new(5):normal(T.empty{2, c, size, size})
            local z = model:forward(x)
            local back = model:inverse(z:clone())
            local err = back:clone():axpy(-1, x)
            assert.is_true(math.sqrt(err:sumsq() / x:sumsq()) < 1e-4, "relative error " .. math.sqrt(err:sumsq() / x:sumsq()))
        end)
    end

    it("splits and joins latents per scale, finest first", function()
        local model = flow.RealNVP.new{channels = 1, size = 8, scales = 3, width = 4, blocks = 1}
        local z = Rng.new(1):normal(T.empty{2, 1, 8, 8})
        local parts = model:split_latents(z)
        assert.are.equal(3, #parts)
        assert.are.same({2, 2, 4, 4}, parts[1]:size())  -- half of the 4 channels of the first squeeze
        assert.are.same({2, 4, 2, 2}, parts[2]:size())
        assert.are.same({2, 4, 2, 2}, parts[3]:size())
        assert.are.equal(0, model:join_latents(parts):max_abs_diff(z))
    end)

    it("has a log-det equal to the brute-force log|det J| of a tiny 2-scale model (3x4x4)", function()
        -- evaluation mode: fixed batch-norm statistics keep the map smooth for central differences
        local model = perturb(flow.RealNVP.new{channels = 3, size = 4, scales = 2, width = 4, blocks = 1, seed = 7}, 8, 0.2)
        model:evaluate()
        local x = Rng.new(9):normal(T.empty{1, 3, 4, 4}, 0, 0.5)
        local _, logdet = model:forward(x)
        local expected = logdet.data[0]
        local J = jacobian(function(v) return (model:forward(v)) end, x, 1e-2)
        assert_close(logabsdet(J), expected, 2e-3, 2e-3, "model log-det")
    end)

    it("has exact gradients of the loss (bits/dim) with respect to parameters", function()
        local model = perturb(flow.RealNVP.new{channels = 1, size = 4, scales = 2, width = 4, blocks = 1, seed = 11}, 12, 0.2)
        local n = 3
        local pixels = ffi.new("uint8_t[?]", n * 16)
        for i = 0, n * 16 - 1 do pixels[i] = (i * 37) % 256 end
        local function loss()
            return (model:loss(pixels, n, nil, false))
        end
        loss()
        model:zero_grad()
        model:backward()
        local checked = 0
        model:each_parameter(function(name, p, g)
            if checked >= 25 or name:match("lam_v") then return end
            local i = (checked * 7) % p.numel
            checked = checked + 1
            local analytic = g.data[i]
            assert_grad(analytic, loss, p.data, i, name .. "[" .. i .. "]")
        end)
        assert.is_true(checked >= 25)
    end)

    it("reads about 8 bits/dim plus change on uniform noise at initialisation, and samples pixels", function()
        local model = flow.RealNVP.new{channels = 1, size = 8, scales = 2, width = 8, blocks = 1, seed = 1}
        local n = 16
        local pixels = ffi.new("uint8_t[?]", n * 64)
        local g = Rng.new(3)
        for i = 0, n * 64 - 1 do pixels[i] = math.floor(g:random() * 256) end
        local _, bpd = model:loss(pixels, n, Rng.new(4))
        assert.is_true(bpd > 8 and bpd < 20, "bits/dim " .. bpd)
        model:evaluate()
        local px = model:sample(4, Rng.new(5), 1.0)
        assert.is_not_nil(px)
        assert.matches("not a valid size: with 2 scales the sides must be positive multiples of 2",
            error_of(function() model:sample(1, Rng.new(1), 1, 7, 8) end), 1, true)
    end)
end)
