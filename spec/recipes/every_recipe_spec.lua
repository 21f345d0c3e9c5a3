-- Every recipe of a dataset of the paper: it loads and validates, keeps its scales and image size,
-- and takes one training step on 8 synthetic images of its dataset's shape (narrowed to width 8 and
-- one residual block, so that the 64x64 models stay fast; the full-size models of the small
-- datasets are stepped by recipes_spec.lua).
local ffi = require "ffi"
local lfs = require "lfs"
local recipe = require "nvp.recipe"
local run = require "nvp.run"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"

local PAPER = {imagenet32 = 4, imagenet64 = 5, lsun_bedroom = 5, lsun_tower = 5, lsun_church_outdoor = 5, celeba = 5}

describe("every recipe of the paper's datasets", function()
    local images = os.getenv("NVP_FORCE_SCALAR") == "1" and 2 or 8
    local seen = 0
    for f in lfs.dir("recipes") do
        local path = "recipes/" .. f
        if f:match("%.lua$") then
            local r = recipe.load(path)
            if PAPER[r.data.dataset] then
                seen = seen + 1
                it(path .. " takes one step on " .. images .. " synthetic images", function()
                    assert.are.equal(PAPER[r.data.dataset], r.model.scales)
                    assert.are.same({64, 5e-5, 100, true}, {r.train.batch, r.train.l2, r.train.clip, r.model.flow_batchnorm})
                    local side = recipe.DATASET_SIDES[r.data.dataset]
                    local small = recipe.load(path, {model = {width = 8, blocks = 1}})
                    local model = run.build_model(small, {channels = 3, height = side, width = side})
                    local opt = optim.Adam.new(model, {lr = r.train.lr, l2 = r.train.l2, clip = r.train.clip})
                    local d = 3 * side * side
                    local pixels = ffi.new("uint8_t[?]", images * d)
                    local g = Rng.new(1)
                    for i = 0, images * d - 1 do pixels[i] = math.floor(g:random() * 256) end
                    local loss, bpd = model:loss(pixels, images, Rng.new(2))
                    assert.is_true(bpd > 5 and bpd < 30, path .. ": bits/dim " .. bpd)
                    model:zero_grad()
                    model:backward()
                    assert.are.equal(0, opt:step().nonfinite)
                    local loss2 = model:loss(pixels, images, Rng.new(2))
                    assert.is_true(loss2 == loss2 and loss2 ~= loss, path .. ": loss " .. loss .. " -> " .. loss2)
                end)
            end
        end
    end
    it("covers the six recipes", function() assert.are.equal(6, seen) end)
end)
