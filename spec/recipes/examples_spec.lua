-- recipes/examples/: architectures written as functions of the layer library, each trained end to end
-- (two steps on the tiny 8x8 Fashion-MNIST-shaped set of spec/reliability/fixture.lua), then
-- evaluated, sampled and put on the results page by the CLI, with nothing outside recipes/ changed.
local lfs = require "lfs"
local fs = require "nvp.fs"
local run = require "nvp.run"
local recipe = require "nvp.recipe"
local fixture = dofile("spec/reliability/fixture.lua")

local function examples()
    local files = {}
    for f in lfs.dir("recipes/examples") do
        if f:match("%.lua$") then files[#files + 1] = "recipes/examples/" .. f end
    end
    table.sort(files)
    return files
end

describe("recipes/examples", function()
    local dir
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("are at least two, each a model built by a function", function()
        local files = examples()
        assert.is_true(#files >= 2)
        for _, path in ipairs(files) do
            local r = recipe.load(path)
            assert.is_function(r.model.build, path)
            assert.is_nil(r.model.arch, path)
        end
    end)

    for _, path in ipairs(examples()) do
        it(path .. " trains, evaluates, samples and gets its row on the page", function()
            local name = path:match("([%w_]+)%.lua$")
            local run_dir = dir .. "/" .. name
            local code, out = fixture.run(("%s train %s data.root=%s run.dir=%s train.steps=2 train.batch=8 "
                .. "data.heldout_images=16 eval.batch=16 sample.n=4"):format(fixture.nvp_exe(), path, dir, run_dir))
            assert.are.equal(0, code, out)
            assert.matches("test bits/dim", out, 1, true)
            local ck = assert(run.open(run_dir .. "/last.safetensors"))
            assert.matches("^Flow%(1x8x8, ", tostring(ck.model))
            code, out = fixture.run(("%s eval %s/last.safetensors images=16"):format(fixture.nvp_exe(), run_dir))
            assert.are.equal(0, code, out)
            local bpd = tonumber(out:match("bits/dim ([%d.]+)"))
            assert.is_true(bpd ~= nil and bpd > 0 and bpd < 9, out)
            code, out = fixture.run(("%s sample %s/last.safetensors n=4 out=%s/s.png"):format(fixture.nvp_exe(), run_dir,
                run_dir))
            assert.are.equal(0, code, out)
            assert.is_true(fs.exists(run_dir .. "/s.png"))
            -- the row (every figure of the page is spec'd on a tiny model in spec/unit/viz_spec.lua)
            code, out = fixture.run(("%s page %s out=%s/page.html generate=false"):format(fixture.nvp_exe(), run_dir,
                run_dir))
            assert.are.equal(0, code, out)
            local html = fs.read(run_dir .. "/page.html")
            assert.matches(name, html, 1, true)
            assert.matches("Flow(1x8x8", html, 1, true)
        end)
    end
end)
