-- CelebA (nvp.data.celeba): the layout with its partition file, the crop rows 40:188, cols 15:163 and
-- the 148 -> 64 bilinear resize checked pixel-exactly against a hand-computed expectation, mis-sized
-- and corrupt files refused or skipped by name, and a missing folder explained.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local celeba = require "nvp.data.celeba"
local C = nffi.C

-- A 218x178 RGB file whose red is the row, green the column, blue 7: PNG data (lossless) named .jpg;
-- the decoder goes by content.
local function write_face(path, h, w)
    h, w = h or 218, w or 178
    local p = ffi.new("uint8_t[?]", h * w * 3)
    for y = 0, h - 1 do for x = 0, w - 1 do
        p[(y * w + x) * 3], p[(y * w + x) * 3 + 1], p[(y * w + x) * 3 + 2] = y, x, 7
    end end
    nffi.check(C.nvp_png_write(path, p, w, h, 3))
end

local function layout(n_train, n_valid)
    local root = tmpdir()
    assert(require("lfs").mkdir(root .. "/img_align_celeba"))
    local f = io.open(root .. "/list_eval_partition.txt", "w")
    for i = 1, n_train + n_valid do
        local name = ("%06d.jpg"):format(i)
        write_face(root .. "/img_align_celeba/" .. name)
        f:write(name, " ", i <= n_train and 0 or 1, "\n")
    end
    f:close()
    return root
end

describe("celeba", function()
    it("reads the partition file's split in file order", function()
        local root = layout(3, 2)
        assert.are.same({"000001.jpg", "000002.jpg", "000003.jpg"},
            celeba.read_partition(root .. "/list_eval_partition.txt", "train"))
        assert.are.same({"000004.jpg", "000005.jpg"}, celeba.read_partition(root .. "/list_eval_partition.txt", "valid"))
        assert.are.same({}, celeba.read_partition(root .. "/list_eval_partition.txt", "test"))
    end)

    it("crops rows 40:188, cols 15:163 and resizes to 64x64 exactly as TF1's bilinear", function()
        local root = layout(2, 1)
        local cfg = {root = root, cache = root .. "/cache", bad_images = "refuse"}
        local imgs = assert(celeba.load("train", cfg, function() end))
        assert.are.same({2, 3, 64, 64}, {imgs.count, imgs.channels, imgs.height, imgs.width})
        -- Output (y, x) reads crop position (y * 148/64, x * 148/64) = (2.3125 y, 2.3125 x); a linear ramp
        -- interpolates exactly: red = 40 + 2.3125 y, green = 15 + 2.3125 x, rounded to nearest.
        for i = 0, 1 do
            local base = i * 3 * 64 * 64
            for y = 0, 63 do for x = 0, 63 do
                assert.are.equal(math.floor(40 + 2.3125 * y + 0.5), imgs.data[base + y * 64 + x])
                assert.are.equal(math.floor(15 + 2.3125 * x + 0.5), imgs.data[base + 4096 + y * 64 + x])
                assert.are.equal(7, imgs.data[base + 8192 + y * 64 + x])
            end end
        end
        local valid = assert(celeba.load("valid", cfg, function() end))
        assert.are.equal(1, valid.count)
    end)

    it("refuses a mis-sized file by name, or skips it when the recipe says so", function()
        local root = layout(3, 0)
        write_face(root .. "/img_align_celeba/000002.jpg", 200, 178)
        local cfg = {root = root, cache = root .. "/cache", bad_images = "refuse"}
        local imgs, err = celeba.load("train", cfg, function() end)
        assert.is_nil(imgs)
        assert.matches("000002.jpg: 200 x 178 pixels (height x width), expected 218 x 178", err, 1, true)
        assert.matches("data.bad_images=skip", err, 1, true)
        assert.is_nil(io.open(root .. "/cache/celeba-train.nvppack"))  -- nothing half-written
        cfg.bad_images = "skip"
        local lines = {}
        imgs = assert(celeba.load("train", cfg, function(l) lines[#lines + 1] = l end))
        assert.are.equal(2, imgs.count)
        assert.matches("skipped .*000002.jpg: 200 x 178", table.concat(lines, "\n"))
    end)

    it("names the expected files and where CelebA is published when they are missing", function()
        local root = tmpdir()
        local imgs, err = celeba.load("train", {root = root, cache = root .. "/c", bad_images = "refuse"})
        assert.is_nil(imgs)
        assert.matches(root .. "/img_align_celeba: not found", err, 1, true)
        assert.matches("list_eval_partition.txt", err, 1, true)
        assert.matches("mmlab.ie.cuhk.edu.hk/projects/CelebA.html", err, 1, true)
        local lroot = layout(1, 0)
        os.remove(lroot .. "/img_align_celeba/000001.jpg")
        _, err = celeba.load("train", {root = lroot, cache = lroot .. "/c", bad_images = "refuse"})
        assert.matches("000001.jpg: not found (listed in " .. lroot .. "/list_eval_partition.txt", err, 1, true)
    end)
end)
