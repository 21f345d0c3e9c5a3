-- The divergence guard: a non-finite loss or gradient skips the step (logged with its number, and
-- the batch-norm statistics its forward pass touched are put back); K in a row stop the run naming
-- the last good checkpoint; a non-finite value is never written to a checkpoint.
local T = require "nvp.tensor"
local fs = require "nvp.fs"
local run = require "nvp.run"
local recipe = require "nvp.recipe"
local train = require "nvp.train"
local checkpoint = require "nvp.checkpoint"
local fixture = dofile("spec/reliability/fixture.lua")

describe("non-finite steps", function()
    local dir
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function recipe_for(run_dir, train_overrides)
        local o = {data = {root = dir}, run = {dir = run_dir}, train = train_overrides}
        return recipe.from_text(fixture.RECIPE, "rel.lua", o)
    end

    it("are skipped and counted; K in a row stop the run naming the last good checkpoint", function()
        -- lr = 1e30: the first step makes the weights huge, every later loss is infinite
        local out = dir .. "/diverge"
        local err = error_of(train.run, recipe_for(out, {steps = 50, lr = 1e30, max_bad_steps = 4}), {quiet = true})
        assert.are.equal(("train: 4 non-finite steps in a row at step 2; the last good checkpoint is %s"):format(
            out .. "/last.safetensors"), err)
        local skipped = {}
        for line in io.lines(out .. "/metrics.jsonl") do
            if line:find('"kind":"skipped"', 1, true) then skipped[#skipped + 1] = line:match('"step":(%d+)') end
        end
        assert.are.same({"2", "2", "2", "2"}, skipped)
        -- the checkpoint holds step 1, every tensor finite (statistics of the skipped forwards undone)
        local ck = assert(run.open(out .. "/last.safetensors"))
        assert.are.equal("1", ck.meta["nvp.step"])
        for name, t in pairs(ck.tensors) do
            if T.is_tensor(t) then assert.are.equal(0, t:count_nonfinite(), name) end
        end
    end)

    it("a model or optimiser state with a NaN is never written; the old checkpoint stays", function()
        local out = dir .. "/nan"
        train.run(recipe_for(out, {steps = 2}), {quiet = true})
        local path = out .. "/last.safetensors"
        local before = assert(fs.read(path))
        local ck = assert(run.open(path))
        local state = ck.model:state()
        local names = {}
        for name in pairs(state) do names[#names + 1] = name end
        table.sort(names)
        local victim = state[names[#names]]
        victim.data[victim.numel - 1] = 0 / 0
        local ok, err = run.save(path, ck.model, nil, {step = 3}, ck.recipe)
        assert.is_nil(ok)
        assert.are.equal(("%s: not written: tensor 'model.%s' holds 1 non-finite values"):format(path,
            names[#names]), err)
        victim.data[victim.numel - 1] = 0
        -- an optimiser moment
        local moments, any = {}, nil
        for name, t in pairs(ck.tensors) do
            if not name:match("^model%.") then
                moments[name] = t
                if T.is_tensor(t) and (any == nil or name < any) then any = name end
            end
        end
        moments[any].data[0] = 1 / 0
        ok, err = run.save(path, ck.model, {state = function() return moments end}, {step = 3}, ck.recipe)
        assert.is_nil(ok)
        assert.matches("not written: tensor '" .. any:gsub("%p", "%%%0") .. "' holds 1 non%-finite values", err)
        assert.are.equal(before, fs.read(path))
        assert.truthy(checkpoint.load(path))
    end)
end)
