-- Every recipe: it loads and validates, builds its model, and takes one training step on 8
-- synthetic images of its dataset's shape (docs/STYLE.md's recipe smoke spec).
local ffi = require "ffi"
local lfs = require "lfs"
local recipe = require "nvp.recipe"
local run = require "nvp.run"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"

local DIMS = {fashion_mnist = {channels = 1, height = 28, width = 28}, cifar10 = {channels = 3, height = 32, width = 32}}

local function recipe_files()
    local files = {}
    for f in lfs.dir("recipes") do
        if f:match("%.lua$") then files[#files + 1] = "recipes/" .. f end
    end
    table.sort(files)
    return files
end

describe("recipes", function()
    local files = recipe_files()
    it("are all here", function()
        assert.is_true(#files >= 5)
    end)

    -- Under the scalar reference kernels the wide models take minutes a step: two images there.
    local images = os.getenv("NVP_FORCE_SCALAR") == "1" and 2 or 8
    for _, path in ipairs(files) do
        it(path .. " builds and takes one step on " .. images .. " synthetic images", function()
            local r = recipe.load(path)
            local dims = DIMS[r.data.dataset]
            if dims == nil then return end -- the paper's 64x64 datasets: every_recipe_spec.lua, narrowed
            local model = run.build_model(r, dims)
            local opt = optim.Adam.new(model, {lr = r.train.lr, l2 = r.train.l2, clip = r.train.clip})
            local d = dims.channels * dims.height * dims.width
            local pixels = ffi.new("uint8_t[?]", images * d)
            local g = Rng.new(1)
            for i = 0, images * d - 1 do pixels[i] = math.floor(g:random() * 256) end
            local loss, bpd = model:loss(pixels, images, Rng.new(2))
            assert.is_true(bpd > 5 and bpd < 30, path .. ": bits/dim " .. bpd)
            model:zero_grad()
            model:backward()
            local norms = opt:step()
            assert.are.equal(0, norms.nonfinite)
            -- One Adam step on a wide model may overshoot on 8 images; it must stay finite and move.
            local loss2 = model:loss(pixels, images, Rng.new(2))
            assert.is_true(loss2 == loss2 and loss2 < math.huge and loss2 ~= loss, path .. ": loss " .. loss .. " -> " .. loss2)
        end)
    end
end)

describe("recipe validation", function()
    local function load_text(text, overrides)
        return recipe.from_text(text, "x.lua", overrides)
    end

    it("fills defaults and applies typed overrides", function()
        local r = load_text("return {name = 'a', train = {lr = 0.01}}", {train = {steps = 5}, model = {width = 8}})
        assert.are.same({0.01, 5, 8, 64}, {r.train.lr, r.train.steps, r.model.width, r.train.batch})
    end)

    it("names an unknown key and what is valid", function()
        assert.matches("x.lua: recipe: unknown key 'train.lrr' (valid here: ", error_of(load_text,
            "return {train = {lrr = 1}}"), 1, true)
        assert.matches("x.lua: recipe: unknown key 'modle'", error_of(load_text, "return {modle = {}}"), 1, true)
        assert.matches("unknown key 'train.setps'", error_of(load_text, "return {}", {train = {setps = 3}}), 1, true)
    end)

    it("names a key with a wrong type or value", function()
        assert.matches("recipe: 'train.lr' must be a number, got string (fast)",
            error_of(load_text, "return {}", {train = {lr = "fast"}}), 1, true)
        assert.matches("recipe: 'data.dataset' = 'mnist' is not one of: fashion_mnist, cifar10",
            error_of(load_text, "return {data = {dataset = 'mnist'}}"), 1, true)
        assert.matches("'train.batch' must be an integer >= 2", error_of(load_text, "return {train = {batch = 1}}"), 1, true)
    end)

    it("refuses scales the dataset's image size cannot take, before loading data", function()
        assert.matches("recipe: 'model.scales' = 4 cannot squeeze fashion_mnist's 28x28 images 3 times (valid: 1, 2, 3)",
            error_of(load_text, "return {model = {scales = 4}}"), 1, true)
        assert.matches("'model.scales' = 7 cannot squeeze cifar10's 32x32 images 6 times (valid: 1, 2, 3, 4, 5, 6)",
            error_of(load_text, "return {data = {dataset = 'cifar10'}, model = {scales = 7}}"), 1, true)
    end)

    it("refuses a recipe that does not return a table", function()
        assert.matches("x.lua must return a table of settings, got number", error_of(load_text, "return 3"), 1, true)
    end)
end)
