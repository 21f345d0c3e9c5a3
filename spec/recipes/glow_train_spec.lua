-- Glow recipes trained end to end on a synthetic Fashion-MNIST-shaped dataset (8x8 IDX files written
-- here): the loss falls; the actnorm layers are initialised by the first step and the flag is in the
-- checkpoint; resuming equals not stopping, bit for bit (a resumed run must not initialise again); a
-- class-conditional recipe gets its labels through nvp train (the class prior learns what the label
-- says: the background's brightness) and nvp eval classifies by likelihood.
local recipe = require "nvp.recipe"
local train = require "nvp.train"
local run = require "nvp.run"
local fs = require "nvp.fs"

local function be32(n)
    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

-- count images of 8x8: a bright square at a position that depends on the index, on noise whose level
-- is the image's label.
local function write_idx(path, count, seed)
    local bytes = {}
    local state = seed
    for k = 0, count - 1 do
        local px = {}
        local ox, oy = k % 4, math.floor(k / 4) % 4
        for y = 0, 7 do
            for x = 0, 7 do
                state = (state * 1103515245 + 12345) % 2147483648
                local v = 15 * (k % 10) + state % 40 -- the background's brightness tells the label, k % 10
                if x >= ox and x < ox + 4 and y >= oy and y < oy + 4 then v = 200 + state % 56 end
                px[#px + 1] = string.char(v)
            end
        end
        bytes[#bytes + 1] = table.concat(px)
    end
    local f = assert(io.open(path, "wb"))
    f:write(be32(0x803), be32(count), be32(8), be32(8), table.concat(bytes))
    f:close()
    local labels = assert(io.open(path:gsub("images%-idx3", "labels-idx1"), "wb"))
    local l = {}
    for k = 0, count - 1 do l[#l + 1] = string.char(k % 10) end
    labels:write(be32(0x801), be32(count), table.concat(l))
    labels:close()
end

local TEXT = [[return {name = "g", data = {dataset = "fashion_mnist"},
    model = function(nn, dims)
        local levels = {}
        for level = 1, 2 do
            local layers = {nn.Squeeze{order = "A"}}
            for k = 1, 2 do
                layers[#layers + 1] = nn.ActNorm{}
                layers[#layers + 1] = nn.InvConv1x1{lu = k == 1}
                layers[#layers + 1] = nn.GlowCoupling{kind = k == 1 and "affine" or "additive", parity = k % 2,
                                                      net = nn.ConvNet{width = 8}}
            end
            layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
            levels[level] = nn.Sequence(layers)
        end
        return nn.MultiScale(levels)
    end,
    train = {batch = 16, lr = 3e-3, warmup = 3, log_every = 5, checkpoint_every_minutes = 1000},
    eval = {batch = 32}, sample = {n = 4}}]]

describe("training a Glow recipe", function()
    local dir
    setup(function()
        dir = tmpdir()
        write_idx(dir .. "/train-images-idx3-ubyte", 256, 1)
        write_idx(dir .. "/t10k-images-idx3-ubyte", 64, 2)
        os.execute(("gzip -nf %s/train-images-idx3-ubyte %s/train-labels-idx1-ubyte %s/t10k-images-idx3-ubyte "
            .. "%s/t10k-labels-idx1-ubyte"):format(dir, dir, dir, dir))
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function recipe_for(run_dir, steps)
        return recipe.from_text(TEXT, "g.lua", {data = {root = dir}, run = {dir = run_dir}, train = {steps = steps}})
    end

    it("lowers the loss and saves initialised actnorms", function()
        local out = dir .. "/run1"
        local result = train.run(recipe_for(out, 30), {quiet = true})
        assert.are.equal(30, result.step)
        local first, last
        for line in io.lines(out .. "/metrics.jsonl") do
            local bpd = line:match('"train_bpd":([%d.e+-]+)')
            if bpd then
                first = first or tonumber(bpd)
                last = tonumber(bpd)
            end
        end
        assert.is_true(last < first - 0.3, ("train bits/dim %s -> %s"):format(first, last))
        local ck = assert(run.open(out .. "/last.safetensors"))
        local flags = 0
        for name, t in pairs(ck.tensors) do
            if name:match("initialized$") then
                flags = flags + 1
                assert.are.equal(1, t.data[0], name)
            end
        end
        assert.are.equal(12, flags) -- 4 steps, each a flow actnorm and the two of its ConvNet
    end)

    it("resumes bit for bit: 2N steps == N + resume + N (no second initialisation)", function()
        local straight, split = dir .. "/straight", dir .. "/split"
        train.run(recipe_for(straight, 10), {quiet = true})
        train.run(recipe_for(split, 5), {quiet = true})
        train.run(recipe_for(split, 10), {quiet = true})
        local a = assert(run.open(straight .. "/last.safetensors"))
        local b = assert(run.open(split .. "/last.safetensors"))
        assert.are.equal("10", b.meta["nvp.step"])
        local differing = {}
        for name, t in pairs(a.tensors) do
            if t:max_abs_diff(b.tensors[name]) ~= 0 then differing[#differing + 1] = name end
        end
        assert.are.same({}, differing)
    end)

    local function conditional_text(classes)
        return (TEXT:gsub("levels%[level%] = nn.Sequence%(layers%)", ([[if level == 2 then
                layers[#layers + 1] = nn.TopPrior{}
                layers[#layers + 1] = nn.ClassPrior{classes = %d}
            else
                layers[#layers + 1] = nn.SplitPrior{}
            end
            levels[level] = nn.Sequence(layers)]]):format(classes)))
    end

    local function nvp(verb, ck, extra)
        local p = io.popen(("%s %s %s %s 2>&1; echo rc=$?"):format(nvp_exe(), verb, ck, extra))
        local text_out = p:read("*a")
        p:close()
        return text_out
    end

    it("trains a class-conditional recipe on the labels; nvp eval classifies by likelihood", function()
        local out = dir .. "/cond_train"
        train.run(recipe.from_text(conditional_text(10), "c.lua", {data = {root = dir}, run = {dir = out},
            train = {steps = 60}}), {quiet = true})
        local ck = assert(run.open(out .. "/last.safetensors"))
        -- the class prior's rows moved for the classes seen, and its "no label" row (10) did not:
        -- without the labels every batch would train row 10 only
        local bias = ck.model.label_layers[1]._params.bias -- the nn.ClassPrior's (classes + 1, C)
        local c = bias.shape[2]
        local moved, unlabelled = 0, 0
        for k = 0, 9 do
            for j = 0, c - 1 do moved = math.max(moved, math.abs(bias.data[k * c + j])) end
        end
        for j = 0, c - 1 do unlabelled = math.max(unlabelled, math.abs(bias.data[10 * c + j])) end
        assert.is_true(moved > 1e-3, "class rows moved: " .. moved)
        assert.are.equal(0, unlabelled)
        local text_out = nvp("eval", out .. "/last.safetensors", "")
        local accuracy = tonumber(text_out:match("accuracy of argmax_y p%(x | y%) ([%d.]+) %(%d+ of 64 images%)"))
        assert.is_not_nil(accuracy, text_out)
        assert.is_true(accuracy > 0.3, text_out) -- chance: 0.1
        assert.matches("under p%(x | y%), the images' labels", text_out)
        assert.matches("rc=0", text_out)
    end)

    it("refuses a class-conditional recipe whose class count the dataset exceeds", function()
        local ok, err = pcall(train.run, recipe.from_text(conditional_text(3), "c.lua", {data = {root = dir},
            run = {dir = dir .. "/cond3"}, train = {steps = 1}}), {quiet = true})
        assert.is_false(ok)
        assert.matches("train: fashion_mnist has 10 classes, the model's nn.ClassPrior 3", err)
    end)

    it("nvp sample draws class K of a class-conditional model, a row per class without class=", function()
        local out = dir .. "/cond"
        train.run(recipe.from_text(conditional_text(10), "c.lua", {data = {root = dir}, run = {dir = out},
            train = {steps = 2}}), {quiet = true})
        local ck = out .. "/last.safetensors"
        local function sample(extra) return nvp("sample", ck, ("out=%s/s.png %s"):format(dir, extra)) end
        assert.matches("wrote .*s.png %(4 samples of 8x8 at temperature 1, class 2%)\nrc=0", sample("n=4 class=2"))
        assert.matches("wrote .*s.png %(20 samples of 8x8 at temperature 1, a row per class%)\nrc=0", sample("n=25"))
        assert.matches("nvp: sample: class=10 is not a class of .*last.safetensors %(0 to 9%).*rc=2",
            sample("class=10"))
        local plain = dir .. "/run1/last.safetensors"
        ck = plain
        assert.matches("sample: class=1 needs a class%-conditional model", sample("class=1"))
    end)
end)
