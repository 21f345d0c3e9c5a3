-- Training end to end on a synthetic Fashion-MNIST-shaped dataset (IDX files written here):
-- the loss falls, checkpoints round-trip exactly, resuming equals not stopping, corrupt
-- checkpoints are refused.
local recipe = require "nvp.recipe"
local train = require "nvp.train"
local run = require "nvp.run"
local evaluate = require "nvp.evaluate"
local fs = require "nvp.fs"
local dataset = require "nvp.data.dataset"

local fixture = dofile("spec/reliability/fixture.lua") -- the 8x8 IDX set

local TEXT = [[return {name = "t", data = {dataset = "fashion_mnist"}, model = {scales = 2, width = 4, blocks = 1},
                       train = {batch = 16, lr = 3e-3, log_every = 5, checkpoint_every_minutes = 1000},
                       eval = {batch = 32}, sample = {n = 4}}]]

describe("training", function()
    local dir
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function recipe_for(run_dir, steps, extra)
        local o = {data = {root = dir}, run = {dir = run_dir}, train = {steps = steps}}
        for k, v in pairs(extra or {}) do o[k] = v end
        return recipe.from_text(TEXT, "t.lua", o)
    end

    it("lowers the loss, writes metrics, checkpoints and samples", function()
        local out = dir .. "/run1"
        local result = train.run(recipe_for(out, 40), {quiet = true})
        assert.are.equal(40, result.step)
        assert.is_true(fs.exists(out .. "/last.safetensors"))
        assert.is_true(fs.exists(out .. "/best.safetensors"))
        assert.is_true(fs.exists(out .. "/samples.png"))
        local first, last
        for line in io.lines(out .. "/metrics.jsonl") do
            local bpd = line:match('"train_bpd":([%d.e+-]+)')
            if bpd then
                first = first or tonumber(bpd)
                last = tonumber(bpd)
            end
        end
        assert.is_true(last < first - 0.5, ("train bits/dim %s -> %s"):format(first, last))
        assert.is_true(result.heldout_bpd < first, "held-out " .. result.heldout_bpd)
    end)

    it("reloads a checkpoint with identical held-out bits/dim", function()
        local out = dir .. "/run2"
        local result = train.run(recipe_for(out, 10), {quiet = true})
        local ck = assert(run.open(out .. "/last.safetensors"))
        local ds = assert(dataset.open(ck.recipe.data))
        local bpd = evaluate.bits_per_dim(ck.model, ds.heldout, {batch = 32, seed = ck.recipe.seed})
        assert.are.equal(result.heldout_bpd, bpd)
    end)

    it("fixes batch-norm statistics before the final evaluation when eval.bn_images is set", function()
        local plain, fixed = dir .. "/bn_plain", dir .. "/bn_fixed"
        train.run(recipe_for(plain, 8), {quiet = true})
        local result = train.run(recipe_for(fixed, 8, {eval = {bn_images = 64}}), {quiet = true})
        local a = assert(run.open(plain .. "/last.safetensors"))
        local b = assert(run.open(fixed .. "/last.safetensors"))
        assert.are.equal("64", b.meta["nvp.bn_images"])
        assert.is_nil(a.meta["nvp.bn_images"])
        -- same weights, different running statistics, and the stored ones give the reported figure
        local weights_differ, stats_differ = 0, 0
        for name, t in pairs(a.tensors) do
            local d = t:max_abs_diff(b.tensors[name])
            if name:match("running_") then
                if d > 0 then stats_differ = stats_differ + 1 end
            elseif name:match("^model%.") and d > 0 then
                weights_differ = weights_differ + 1
            end
        end
        assert.are.equal(0, weights_differ)
        assert.is_true(stats_differ > 0)
        local ds = assert(dataset.open(b.recipe.data))
        assert.are.equal(result.heldout_bpd, evaluate.bits_per_dim(b.model, ds.heldout, {batch = 32, seed = b.recipe.seed}))
    end)

    it("resumes bit for bit: 2N steps == N + resume + N", function()
        local straight, split = dir .. "/straight", dir .. "/split"
        train.run(recipe_for(straight, 12), {quiet = true})
        train.run(recipe_for(split, 6), {quiet = true})
        train.run(recipe_for(split, 12), {quiet = true})
        local a = assert(run.open(straight .. "/last.safetensors"))
        local b = assert(run.open(split .. "/last.safetensors"))
        assert.are.equal("12", b.meta["nvp.step"])
        local differing = {}
        for name, t in pairs(a.tensors) do
            if t:max_abs_diff(b.tensors[name]) ~= 0 then differing[#differing + 1] = name end
        end
        assert.are.same({}, differing)
    end)

    it("saves and stops cleanly on Ctrl-C (SIGINT), and resumes from there", function()
        local out = dir .. "/run5"
        local recipe_path = dir .. "/t.lua"
        assert(fs.write(recipe_path, TEXT))
        local cmd = ("%s train %s data.root=%s run.dir=%s train.steps=100000 > %s/log 2>&1 & echo $!"):format(
            nvp_exe(), recipe_path, dir, out, dir)
        local pid = io.popen(cmd):read("*l")
        -- wait for the first metrics line (training has started), then interrupt
        for _ = 1, 200 do
            if fs.exists(out .. "/metrics.jsonl") then break end
            os.execute("sleep 0.1")
        end
        os.execute("kill -INT " .. pid)
        for _ = 1, 300 do
            if not fs.exists("/proc/" .. pid) or (fs.read("/proc/" .. pid .. "/stat") or ""):match("^%d+ %b() Z") then break end
            os.execute("sleep 0.1")
        end
        local log = assert(fs.read(dir .. "/log"))
        assert.matches("interrupted at step (%d+): saved .*run5/last.safetensors", log)
        local step = tonumber(log:match("interrupted at step (%d+)"))
        local ck = assert(run.open(out .. "/last.safetensors"))
        assert.are.equal(tostring(step), ck.meta["nvp.step"])
        local result = train.run(recipe_for(out, step + 2), {quiet = true})
        assert.are.equal(step + 2, result.step)
    end)

    it("refuses corrupt checkpoints with one line", function()
        local out = dir .. "/run3"
        train.run(recipe_for(out, 2), {quiet = true})
        local good = assert(fs.read(out .. "/last.safetensors"))
        local bad = out .. "/bad.safetensors"
        fs.write(bad, good:sub(1, #good - 100))
        local ck, err = run.open(bad)
        assert.is_nil(ck)
        assert.matches("bad.safetensors", err, 1, true)
        assert.is_nil(err:find("\n"))
        fs.write(bad, "\255\255\255\255\255\255\255\255{}")
        ck, err = run.open(bad)
        assert.is_nil(ck)
        assert.matches("bad.safetensors", err, 1, true)
        -- tensors of one architecture under the recipe of another: refused, naming a tensor and both shapes
        local other = dir .. "/run4"
        train.run(recipe.from_text(TEXT, "t.lua", {data = {root = dir}, run = {dir = other}, train = {steps = 1},
                                                  model = {width = 6}}), {quiet = true})
        local checkpoint = require "nvp.checkpoint"
        local tensors = assert(checkpoint.load(out .. "/last.safetensors"))
        local _, meta = checkpoint.load(other .. "/last.safetensors")
        local mixed = out .. "/mixed.safetensors"
        assert(checkpoint.save(mixed, tensors, meta))
        ck, err = run.open(mixed)
        assert.is_nil(ck)
        assert.matches("mixed.safetensors: load_state: tensor '.+' has shape %(%d+.*%), the model needs %(", err)
    end)
end)
