-- LSUN (nvp.data.lsun, kernels/resize.c): odd-sized images reduced so that the smaller side is 96
-- (size rule and pixels checked against a double-precision reference of skimage's pyramid_reduce),
-- central 64x64 crops for evaluation checked pixel-exactly, and the missing-folder message.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local lfs = require "lfs"
local lsun = require "nvp.data.lsun"
local C = nffi.C

local function reduce_size(h, w, side)
    local oh, ow = ffi.new("int32_t[1]"), ffi.new("int32_t[1]")
    nffi.check(C.nvp_pyramid_reduce_size(oh, ow, h, w, side))
    return oh[0], ow[0]
end

-- skimage.transform.pyramid_reduce of one uint8 plane (h, w), as documented in resize.c, in Lua doubles.
local function pyramid_reference(src, h, w, side)
    local d = math.min(h / side, w / side)
    local oh, ow = math.ceil(h / d), math.ceil(w / d)
    local sigma = 2 * d / 6
    local r = math.floor(4 * sigma + 0.5)
    local wt, total = {}, 0
    for j = -r, r do wt[j] = math.exp(-0.5 / (sigma * sigma) * j * j) total = total + wt[j] end
    for j = -r, r do wt[j] = wt[j] / total end
    local function refl(i, n) local p = 2 * n i = i % p return i < n and i or p - 1 - i end
    local a, b = {}, {}
    for y = 0, h - 1 do for x = 0, w - 1 do a[y * w + x] = src[y * w + x] / 255 end end
    for x = 0, w - 1 do for y = 0, h - 1 do
        local acc = 0
        for j = -r, r do acc = acc + wt[j] * a[refl(y + j, h) * w + x] end
        b[y * w + x] = acc
    end end
    for y = 0, h - 1 do for x = 0, w - 1 do
        local acc = 0
        for j = -r, r do acc = acc + wt[j] * b[y * w + refl(x + j, w)] end
        a[y * w + x] = acc
    end end
    local out = {}
    for y = 0, oh - 1 do
        local ry = h / oh * (y + 0.5) - 0.5
        local r0, r1, dr = math.floor(ry), math.ceil(ry), ry - math.floor(ry)
        for x = 0, ow - 1 do
            local cx = w / ow * (x + 0.5) - 0.5
            local c0, c1, dc = math.floor(cx), math.ceil(cx), cx - math.floor(cx)
            local top = (1 - dc) * a[r0 * w + c0] + dc * a[r0 * w + c1]
            local bottom = (1 - dc) * a[r1 * w + c0] + dc * a[r1 * w + c1]
            out[y * ow + x] = math.floor(((1 - dr) * top + dr * bottom) * 255)
        end
    end
    return out, oh, ow
end

describe("lsun", function()
    it("sizes the reduced image as pyramid_reduce(min(h, w) / 96) does", function()
        assert.are.same({96, 128}, {reduce_size(256, 341, 96)})
        assert.are.same({144, 96}, {reduce_size(150, 100, 96)})
        assert.are.same({96, 96}, {reduce_size(96, 96, 96)})
        assert.are.same({129, 96}, {reduce_size(303, 227, 96)})  -- 303 / (227/96) = 128.1
    end)

    it("reduces an odd-sized image like a double-precision skimage reference", function()
        local h, w = 131, 197
        local src = ffi.new("uint8_t[?]", h * w)
        local g = spec_rng(5)
        for i = 0, h * w - 1 do src[i] = math.floor(g:random() * 256) end
        local ref, oh, ow = pyramid_reference(src, h, w, 96)
        local dst = ffi.new("uint8_t[?]", oh * ow)
        nffi.check(C.nvp_pyramid_reduce_u8(dst, src, 1, h, w, 96))
        local off = 0
        for i = 0, oh * ow - 1 do
            if dst[i] ~= ref[i] then off = off + 1 end
            assert.is_true(math.abs(dst[i] - ref[i]) <= 1)
        end
        assert.is_true(off <= oh * ow / 1000, off .. " pixels differ by one (truncation ties)")
    end)

    it("crops pixel-exactly: the central 64x64 of 96x131, mirrored on request", function()
        local h, w = 96, 131
        local src = ffi.new("uint8_t[?]", 3 * h * w)
        for k = 0, 2 do for y = 0, h - 1 do for x = 0, w - 1 do src[(k * h + y) * w + x] = (y + 2 * x + k) % 256 end end end
        local y0, x0 = require("nvp.data.preprocess").central_offset(h, w, 64, 64)
        assert.are.same({16, 33}, {y0, x0})
        local out = ffi.new("uint8_t[?]", 3 * 64 * 64)
        nffi.check(C.nvp_crop_u8(out, src, 3, h, w, y0, x0, 64, 64, 1))
        for k = 0, 2 do for y = 0, 63 do for x = 0, 63 do
            assert.are.equal((16 + y + 2 * (33 + 63 - x) + k) % 256, out[(k * 64 + y) * 64 + x])
        end end end
        assert.matches("crop: rows 40..103, cols 0..63 are outside a 96 x 131 image",
            error_of(function() nffi.check(C.nvp_crop_u8(out, src, 3, h, w, 40, 0, 64, 64, 0)) end), 1, true)
    end)

    it("packs a category folder of odd-sized images; valid gives central crops", function()
        local root = tmpdir()
        for _, split in ipairs{"tower_train", "tower_val"} do
            assert(lfs.mkdir(root .. "/" .. split))
            for i, s in ipairs{{100, 150}, {130, 97}, {96, 96}} do
                local px = ffi.new("uint8_t[?]", s[1] * s[2] * 3)
                ffi.fill(px, s[1] * s[2] * 3, 0)
                nffi.check(C.nvp_jpeg_write(("%s/%s/%d.webp"):format(root, split, i), px, s[2], s[1], 3, 90))
            end
        end
        local cfg = {root = root, cache = root .. "/cache", bad_images = "refuse"}
        local train = assert(lsun.load("tower", "train", cfg, function() end))
        assert.are.same({3, 64, 64, "random"}, {train.count, train.height, train.width, train.crop})
        assert.are.same({96, 144}, {train.pack:size_of(0)})
        assert.are.same({129, 96}, {train.pack:size_of(1)})
        assert.are.same({96, 96}, {train.pack:size_of(2)})
        local valid = assert(lsun.load("tower", "valid", cfg, function() end))
        assert.are.same({3, 3, 64, 64}, {valid.count, valid.channels, valid.height, valid.width})
        for i = 0, 3 * 3 * 64 * 64 - 1 do assert.are.equal(0, valid.data[i]) end
    end)

    it("names the expected folders and where LSUN is published", function()
        local root = tmpdir()
        local _, err = lsun.load("bedroom", "train", {root = root, cache = root .. "/c", bad_images = "refuse"})
        assert.matches(root .. "/bedroom_train: not a directory; LSUN bedroom is expected as image folders "
            .. "bedroom_train and bedroom_val under " .. root, err, 1, true)
        assert.matches("github.com/fyu/lsun", err, 1, true)
    end)
end)
