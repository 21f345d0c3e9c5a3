-- A folder of PNG/JPEG images as a dataset (data.dataset = "folder", nvp.data.folder_dataset): exact
-- pixels when the images already have the trained size, crops of mixed sizes, grey/RGB conversion,
-- recipe checks before any data is read, missing folders named.
local ffi = require "ffi"
local lfs = require "lfs"
local nffi = require "nvp.ffi"
local recipe = require "nvp.recipe"
local dataset = require "nvp.data.dataset"
local loader = require "nvp.data.loader"
local C = nffi.C

-- An h x w image (HWC, interleaved) whose pixel (y, x, k) is f(y, x, k).
local function write_png(path, h, w, channels, f)
    local px = ffi.new("uint8_t[?]", h * w * channels)
    for y = 0, h - 1 do
        for x = 0, w - 1 do
            for k = 0, channels - 1 do px[(y * w + x) * channels + k] = f(y, x, k) end
        end
    end
    nffi.check(C.nvp_png_write(path, px, w, h, channels))
end

local function data_cfg(root, cache, extra)
    local r = recipe.from_text(([[return {data = {dataset = "folder", root = %q, cache = %q, size = 8}}]]):format(
        root, cache), "folder.lua", extra or {})
    return r.data
end

describe("folder dataset", function()
    local root, cache
    setup(function()
        root, cache = tmpdir(), tmpdir()
        assert(lfs.mkdir(root .. "/train"))
        assert(lfs.mkdir(root .. "/train/sub"))
        assert(lfs.mkdir(root .. "/test"))
        for i = 0, 5 do
            write_png(("%s/train/%s%d.png"):format(root, i % 2 == 0 and "" or "sub/", i), 8, 8, 3,
                function(y, x, k) return (i * 40 + y * 8 + x + k * 3) % 256 end)
        end
        write_png(root .. "/test/a.png", 8, 8, 3, function(y, x, k) return (y * 16 + x * 2 + k) % 256 end)
        write_png(root .. "/test/b.png", 8, 8, 1, function(y, x) return 100 + y + x end)
    end)
    teardown(function() os.execute("rm -rf " .. root .. " " .. cache) end)

    it("keeps images of the trained size pixel for pixel, in sorted order, channel-major", function()
        local ds = assert(dataset.open(data_cfg(root, cache), function() end))
        assert.are.equal(6, ds.train.count)
        assert.are.same({3, 8, 8}, {ds.channels, ds.height, ds.width})
        -- sorted by relative path: 0.png, 2.png, 4.png, sub/1.png, sub/3.png, sub/5.png
        local order = {0, 2, 4, 1, 3, 5}
        for n, i in ipairs(order) do
            for _, at in ipairs{{0, 0, 0}, {2, 7, 3}, {1, 4, 5}} do
                local k, y, x = at[1], at[2], at[3]
                assert.are.equal((i * 40 + y * 8 + x + k * 3) % 256,
                    ds.train.data[(n - 1) * 192 + k * 64 + y * 8 + x])
            end
        end
        -- the grey test image is replicated to three equal channels
        local b = ds.heldout.data + 192
        assert.are.same({100 + 3 + 5, 100 + 3 + 5, 100 + 3 + 5}, {b[3 * 8 + 5], b[64 + 3 * 8 + 5], b[128 + 3 * 8 + 5]})
    end)

    it("reads grey when data.channels = 1", function()
        local ds = assert(dataset.open(data_cfg(root, cache, {data = {channels = 1}}), function() end))
        assert.are.equal(1, ds.channels)
        assert.are.equal(100 + 2 + 2, ds.heldout.data[64 + 2 * 8 + 2])
    end)

    it("brings larger images to the side and crops them: random in training, central in evaluation", function()
        local mixed = tmpdir()
        assert(lfs.mkdir(mixed .. "/train"))
        assert(lfs.mkdir(mixed .. "/valid"))
        -- flat colours survive smoothing and resampling exactly
        write_png(mixed .. "/train/wide.png", 16, 24, 3, function(_, _, k) return 50 + 60 * k end)
        write_png(mixed .. "/train/tall.png", 20, 16, 3, function(_, _, k) return 200 - 50 * k end)
        write_png(mixed .. "/valid/v.png", 16, 32, 3, function(_, _, k) return 10 + k end)
        local ds = assert(dataset.open(data_cfg(mixed, cache, {data = {heldout = "valid"}}), function() end))
        assert.are.equal("random", ds.train.crop)
        assert.are.same({1, 3, 8, 8}, {ds.heldout.count, ds.heldout.channels, ds.heldout.height, ds.heldout.width})
        for k = 0, 2 do assert.are.equal(10 + k, ds.heldout.data[k * 64 + 27]) end
        local L = loader.new{images = ds.train, batch = 2, seed = 1, shuffle = false, prefetch = false}
        local px = L:next()
        for k = 0, 2 do
            assert.are.equal(200 - 50 * k, px[k * 64 + 9])        -- tall.png sorts first
            assert.are.equal(50 + 60 * k, px[192 + k * 64 + 9])
        end
        os.execute("rm -rf " .. mixed)
    end)

    it("checks the recipe before reading data, and names missing folders", function()
        assert.matches("'data.size' must be a positive integer", error_of(recipe.from_text,
            [[return {data = {dataset = "folder", root = "/x"}}]], "r.lua"))
        assert.matches("'data.channels' must be 1 or 3", error_of(recipe.from_text,
            [[return {data = {dataset = "folder", root = "/x", size = 8, channels = 2}}]], "r.lua"))
        assert.matches("cannot squeeze", error_of(recipe.from_text,
            [[return {data = {dataset = "folder", root = "/x", size = 12}, model = {scales = 4}}]], "r.lua"))
        local ds, err = dataset.open(data_cfg("/nonexistent/photos", cache), function() end)
        assert.is_nil(ds)
        assert.matches("/nonexistent/photos/train: not a directory", err, 1, true)
        assert.matches("PNG or JPEG files under /nonexistent/photos/train and /nonexistent/photos/test", err, 1, true)
    end)
end)
