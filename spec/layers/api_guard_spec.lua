-- The library refuses what the command line refuses (nvp.guard), and inference changes nothing.
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local flow = require "nvp.flow"
local run = require "nvp.run"
local optim = require "nvp.optim"
local evaluate = require "nvp.evaluate"
local images_mod = require "nvp.data.images"

local function tiny(extra)
    local cfg = {channels = 1, size = 8, scales = 2, width = 4, blocks = 1, seed = 3}
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return flow.RealNVP.new(cfg)
end

local function pixels_of(n, seed)
    local imgs = images_mod.new(n, 1, 8, 8)
    local g = Rng.new(seed)
    for i = 0, n * 64 - 1 do imgs.data[i] = math.floor(g:random() * 256) end
    return imgs
end

-- every parameter and buffer, cloned
local function snapshot(model)
    local s = {}
    for name, t in pairs(model:state()) do s[name] = t:clone() end
    return s
end

local function assert_same_state(model, before, what)
    for name, t in pairs(model:state()) do
        assert.are.equal(0, t:max_abs_diff(before[name]), what .. ": " .. name)
    end
end

describe("the model's entry points", function()
    it("refuse a non-finite input, naming the entry point, the tensor and the first bad index, and keep nothing", function()
        local model = tiny()
        local x = Rng.new(1):normal(T.empty{2, 1, 8, 8})
        x.data[70] = 0 / 0
        x.data[90] = math.huge
        local before = snapshot(model)
        local err = error_of(function() model:forward(x) end)
        assert.matches("model:forward: tensor 'x' (2,1,8,8) holds 2 non-finite values, the first at index 70", err, 1, true)
        assert.is_nil(err:find("\n"))
        assert_same_state(model, before, "after a refused forward")
        assert.matches("model:inverse: tensor 'z' (2,1,8,8) holds 2 non-finite values", error_of(function()
            model:inverse(x) end), 1, true)
        model.check_finite = false          -- the caller asks to skip the pass
        assert.has_no.errors(function() model:forward(x) end)
    end)

    it("refuse empty batches and empty sets, bad temperatures and wrong shapes", function()
        local model = tiny()
        local imgs = pixels_of(4, 1)
        assert.matches("model:loss: the image count must be a positive integer, got 0", error_of(function()
            model:loss(imgs.data, 0, Rng.new(1)) end), 1, true)
        model:evaluate()
        assert.matches("model:loss: the image count must be a positive integer, got 0", error_of(function()
            model:loss(imgs.data, 0) end), 1, true)
        assert.matches("evaluate.bits_per_dim: no images to evaluate (0 images)", error_of(function()
            evaluate.bits_per_dim(model, imgs:narrow(1, 0)) end), 1, true)
        for _, t in ipairs{0 / 0, math.huge, -1} do
            assert.matches("model:sample: temperature must be a finite number >= 0, got " .. tostring(t),
                error_of(function() model:sample(2, Rng.new(1), t) end), 1, true)
        end
        assert.matches("model:sample: n must be a positive integer, got 0", error_of(function()
            model:sample(0, Rng.new(1)) end), 1, true)
        assert.matches("model:forward: tensor 'x' has shape (2,3,8,8), expected (N,1,H,W)", error_of(function()
            model:forward(T.zeros{2, 3, 8, 8}) end), 1, true)
        assert.matches("model:loss: images of 3x8x8, the model takes 1x8x8", error_of(function()
            model:loss(images_mod.new(2, 3, 8, 8)) end), 1, true)
        assert.matches("model:loss: pixels must be an images batch", error_of(function()
            model:loss({1, 2, 3}, 3) end), 1, true)
    end)

    it("refuse a bad constructor argument where it enters", function()
        assert.matches("'alpha' must be in (0, 0.5)", error_of(function() tiny{alpha = 0.7} end), 1, true)
        assert.matches("'alpha' must be a finite number", error_of(function() tiny{alpha = 0 / 0} end), 1, true)
        assert.matches("unknown option 'seeed'", error_of(function() tiny{seeed = 1} end), 1, true)
    end)

    it("accept an images batch where they take pixels, as the docs say", function()
        local model = tiny():evaluate()
        local imgs = pixels_of(3, 2)
        local a = model:loss(imgs, nil, nil, false)
        local b = model:loss(imgs.data, 3, nil, false)
        assert.are.equal(a, b)
        local y = model:preprocess(imgs, 2, nil, false)
        assert.are.same({2, 1, 8, 8}, y.shape)
    end)

    it("change nothing when inverting or sampling, in either mode", function()
        for _, mode in ipairs{"train", "evaluate"} do
            local model = tiny{flow_batchnorm = true}
            model:loss(pixels_of(4, 3), nil, Rng.new(1))      -- running averages away from their start
            if mode == "evaluate" then model:evaluate() end
            local before = snapshot(model)
            model:inverse(Rng.new(2):normal(T.empty{4, 1, 8, 8}))
            model:sample(4, Rng.new(3), 0.7)
            assert_same_state(model, before, mode .. " mode")
            if mode == "evaluate" then
                model:loss(pixels_of(4, 4), nil, Rng.new(1))
                assert_same_state(model, before, "evaluation-mode loss")
            end
        end
    end)
end)

describe("random sequences of API calls on a tiny model", function()
    it("keep everything finite, and evaluation a pure function of the saved state", function()
        local dir = tmpdir()
        local model = tiny{flow_batchnorm = true}
        local opt = optim.Adam.new(model, {lr = 3e-3})
        local data = pixels_of(32, 5)
        local g = Rng.new(99)
        local function bpd(m) return evaluate.bits_per_dim(m, data, {batch = 16, seed = 1}) end
        local ops = {
            train = function()
                local loss = model:loss(data.data + 16 * 64 * math.floor(g:random() * 2), 16, Rng.new(math.floor(g:random() * 1e6)))
                model:zero_grad(); model:backward(); opt:step()
                return loss
            end,
            evaluate = function()
                local a, b = bpd(model), bpd(model)
                assert.are.equal(a, b)                    -- no hidden state moved by evaluating
            end,
            sample = function() model:sample(1 + math.floor(g:random() * 4), Rng.new(7), g:random()) end,
            inverse = function() model:inverse(Rng.new(8):normal(T.empty{3, 1, 8, 8})) end,
            save_load = function()
                local path = dir .. "/m.safetensors"
                assert(run.save(path, model, opt, {step = 1}))
                local ck = assert(run.open(path))
                assert.are.equal(bpd(model), bpd(ck.model)) -- the saved state evaluates the same
            end,
            bad_input = function()
                local x = Rng.new(9):normal(T.empty{2, 1, 8, 8})
                x.data[math.floor(g:random() * 128)] = 0 / 0
                assert.is_false(pcall(model.forward, model, x))
            end,
        }
        local names = {"train", "evaluate", "sample", "inverse", "save_load", "bad_input"}
        for step = 1, 40 do
            local name = names[1 + math.floor(g:random() * #names)]
            if name ~= "train" and model.training == false then model:train() end
            ops[name]()
            if g:random() < 0.3 then model:evaluate() else model:train() end
            for tname, t in pairs(model:state()) do
                assert.are.equal(0, t:count_nonfinite(), ("step %d (%s): %s"):format(step, name, tname))
            end
        end
        os.execute("rm -rf " .. dir)
    end)
end)
