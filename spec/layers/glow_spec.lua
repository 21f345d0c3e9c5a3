-- The Glow layers beyond the registry's three specs (issue 19): the LU 1x1 convolution's log-det is
-- log|det W| computed in double; actnorm initialises from its first training batch (zero mean, unit
-- variance), and its parameters and the flag survive save and load, so a fresh model loaded from a
-- checkpoint never initialises again; Glow couplings with nn.ConvNet start as the identity.
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nn = require "nvp.nn"
local flow = require "nvp.flow"
local checkpoint = require "nvp.checkpoint"
local json = require "nvp.json"

local function build(desc, shape, seed)
    return (nn.build(desc, shape, {rng = Rng.new(seed or 1)}))
end

local function rows(w, n)
    local a = {}
    for i = 1, n do
        a[i] = {}
        for j = 1, n do a[i][j] = w[(i - 1) * n + j - 1] end
    end
    return a
end

describe("InvConv1x1", function()
    for _, n in ipairs{1, 3, 8, 17} do
        it(("LU: log-det = H W log|det W| in double (%d channels, trained away from the start)"):format(n), function()
            local layer = build(nn.InvConv1x1{lu = true}, {n, 3, 2}, n)
            Rng.new(7):normal(layer._params.log_s, 0, 0.7)
            layer._params.lower:add(Rng.new(8):normal(T.empty{n, n}, 0, 0.5))
            layer._params.upper:add(Rng.new(9):normal(T.empty{n, n}, 0, 0.5))
            local _, logdet = layer:forward(Rng.new(3):normal(T.empty{2, n, 3, 2}))
            local w = layer:weight_double()
            local expected = 6 * logabsdet(rows(w, n))
            assert_close(logdet.data[0], expected, 1e-5, 1e-4, "log-det")
            assert_close(logdet.data[1], expected, 1e-5, 1e-4, "log-det")
        end)
    end

    it("starts at a rotation: W W^T = I, |log-det| ~ 0, for both variants", function()
        for _, lu in ipairs{true, false} do
            local n = 6
            local layer = build(nn.InvConv1x1{lu = lu}, {n, 2, 2}, 3)
            local w = layer:weight_double()
            for i = 0, n - 1 do
                for j = 0, n - 1 do
                    local s = 0
                    for k = 0, n - 1 do s = s + w[i * n + k] * w[j * n + k] end
                    assert_close(s, i == j and 1 or 0, 0, 1e-6, ("W W^T [%d][%d]"):format(i, j))
                end
            end
            local _, logdet = layer:forward(Rng.new(3):normal(T.empty{1, n, 2, 2}))
            assert_close(logdet.data[0], 0, 0, 1e-5, "log-det of a rotation")
        end
    end)

    it("plain variant: log-det by LU in double equals the brute-force one", function()
        local n = 5
        local layer = build(nn.InvConv1x1{lu = false}, {n, 1, 1}, 4)
        layer._params.weight:add(Rng.new(5):normal(T.empty{n, n}, 0, 0.4))
        local _, logdet = layer:forward(Rng.new(3):normal(T.empty{1, n, 1, 1}))
        assert_close(logdet.data[0], logabsdet(rows(layer:weight_double(), n)), 1e-5, 1e-5, "log-det")
    end)
end)

describe("ActNorm", function()
    it("initialises from the first training batch: zero mean, unit variance per channel", function()
        local layer = build(nn.ActNorm{}, {3, 4, 5})
        local x = Rng.new(2):normal(T.empty{6, 3, 4, 5}, 1.5, 3)
        assert.is_false(layer:is_initialized())
        local y = layer:forward(x)
        assert.is_true(layer:is_initialized())
        for c = 0, 2 do
            local s, q = 0, 0
            for i = 0, 5 do
                for p = 0, 19 do
                    local v = y.data[(i * 3 + c) * 20 + p]
                    s, q = s + v, q + v * v
                end
            end
            assert_close(s / 120, 0, 0, 1e-5, "mean")
            assert_close(q / 120, 1, 1e-4, 0, "variance")
        end
        -- a second batch does not move the parameters
        local logs = layer._params.logs:clone()
        layer:forward(Rng.new(3):normal(T.empty{6, 3, 4, 5}, -4, 0.1))
        assert.are.equal(0, logs:max_abs_diff(layer._params.logs))
    end)

    it("does not initialise in evaluation mode (a model evaluated before training is the identity there)", function()
        local layer = build(nn.ActNorm{}, {2, 2, 2}):evaluate()
        local x = Rng.new(2):normal(T.empty{3, 2, 2, 2}, 1.5, 3)
        local y, logdet = layer:forward(x)
        assert.is_false(layer:is_initialized())
        assert.are.equal(0, y:max_abs_diff(x))
        assert.are.equal(0, logdet.data[0])
    end)

    it("save, load into a fresh model: the fresh model does not initialise again", function()
        local desc = nn.Sequence{nn.Squeeze{order = "A"}, nn.ActNorm{}, nn.InvConv1x1{},
            nn.GlowCoupling{net = nn.ConvNet{width = 8}}, nn.Squeeze{order = "A", inverse = true}}
        local dims = {channels = 1, height = 4, width = 4}
        local model = flow.new(desc, dims, {seed = 3})
        local px = ffi.new("uint8_t[?]", 8 * 16)
        for i = 0, 8 * 16 - 1 do px[i] = (i * 37) % 256 end
        model:loss(px, 8, Rng.new(1))  -- initialises every actnorm (the flow's and the s/t network's)
        local dir = tmpdir()
        local path = dir .. "/a.safetensors"
        -- what a checkpoint holds: the state and the architecture as data (nvp.run writes the same)
        assert(checkpoint.save(path, model:state(), {["nvp.model"] = json.encode(model:architecture())}))
        local tensors, meta = assert(checkpoint.load(path))
        local fresh = flow.from_architecture(json.decode(meta["nvp.model"]), {seed = 99})
        assert.is_false(fresh.flow.layers[2]:is_initialized())
        fresh:load_state(tensors)
        local flags = 0
        fresh:each_buffer(function(name, t)
            if name:match("initialized$") then
                flags = flags + 1
                assert.are.equal(1, t.data[0], name)
            end
        end)
        assert.are.equal(3, flags) -- the flow's actnorm and the two of the coupling's ConvNet
        -- a training forward on other images leaves every parameter as saved
        local other = ffi.new("uint8_t[?]", 8 * 16)
        for i = 0, 8 * 16 - 1 do other[i] = (i * i) % 97 end
        fresh:train(true)
        fresh:loss(other, 8, Rng.new(2))
        local saved = model:state()
        fresh:each_parameter(function(name, p)
            assert.are.equal(0, p:max_abs_diff(saved[name]), name)
        end)
        os.execute("rm -rf " .. dir)
    end)
end)

describe("GlowCoupling", function()
    for _, kind in ipairs{"affine", "additive"} do
        it(kind .. " with nn.ConvNet starts as the identity (zero-initialised last convolution)", function()
            local layer = build(nn.GlowCoupling{kind = kind, net = nn.ConvNet{width = 6}}, {4, 3, 5})
            local x = Rng.new(2):normal(T.empty{3, 4, 3, 5})
            local y, logdet = layer:forward(x)
            if kind == "affine" then
                -- sigmoid(2) is not 1: the start is y = x sigmoid(2), log-det D/2 log sigmoid(2)
                local sg = 1 / (1 + math.exp(-2))
                for i = 0, x.numel - 1 do
                    local c = math.floor(i / 15) % 4
                    assert_close(y.data[i], c < 2 and x.data[i] or x.data[i] * sg, 1e-6, 1e-6, "y")
                end
                assert_close(logdet.data[0], 30 * math.log(sg), 1e-5, 1e-5, "log-det")
            else
                assert.are.equal(0, y:max_abs_diff(x))
                assert.are.equal(0, logdet.data[0])
            end
        end)
    end

    it("refuses an odd channel count with one line naming the place", function()
        local err = error_of(build, nn.Sequence{nn.GlowCoupling{}}, {3, 4, 4})
        assert.matches("model.1: a Glow coupling needs an even channel count, its input is 3x4x4 (squeeze first)",
            err, 1, true)
    end)
end)
