-- JPEG input and output (engine/src/io/jpeg.c): a quality-100 round trip stays within a few levels
-- (JPEG is lossy), a flat image comes back exactly, the decoder goes by content not name (LSUN's
-- .webp files hold JPEG data), and truncated or corrupt files are named instead of grey-filled.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C = nffi.C

local function read(path, channels)
    local img = ffi.new("nvp_images")
    local ok, err = nffi.try(C.nvp_image_read(img, path, channels))
    if not ok then return nil, err end
    return ffi.gc(img, C.nvp_images_free)
end

local function smooth(h, w)
    local p = ffi.new("uint8_t[?]", h * w * 3)
    for y = 0, h - 1 do for x = 0, w - 1 do for k = 0, 2 do
        p[(y * w + x) * 3 + k] = 60 + 2 * y + x + 20 * k
    end end end
    return p
end

describe("jpeg", function()
    local dir = tmpdir()

    it("round-trips at quality 100 within 3 levels, channel-major", function()
        local h, w = 24, 40
        local path = dir .. "/a.jpg"
        nffi.check(C.nvp_jpeg_write(path, smooth(h, w), w, h, 3, 100))
        local img = assert(read(path, 3))
        assert.are.same({3, h, w}, {img.channels, img.height, img.width})
        local worst = 0
        for k = 0, 2 do for y = 0, h - 1 do for x = 0, w - 1 do
            worst = math.max(worst, math.abs(img.data[(k * h + y) * w + x] - (60 + 2 * y + x + 20 * k)))
        end end end
        assert.is_true(worst <= 3, "max error " .. worst)
    end)

    it("decodes a flat gray image exactly, whatever the file is called", function()
        local p = ffi.new("uint8_t[?]", 16 * 16)
        ffi.fill(p, 16 * 16, 128)
        local path = dir .. "/flat.webp"
        nffi.check(C.nvp_jpeg_write(path, p, 16, 16, 1, 90))
        local img = assert(read(path, 3))
        for i = 0, 3 * 256 - 1 do assert.are.equal(128, img.data[i]) end
    end)

    it("names a truncated JPEG", function()
        local path = dir .. "/b.jpg"
        nffi.check(C.nvp_jpeg_write(path, smooth(32, 32), 32, 32, 3, 95))
        local f = io.open(path, "rb")
        local bytes = f:read("*a")
        f:close()
        f = io.open(path, "wb")
        f:write(bytes:sub(1, math.floor(#bytes / 2)))
        f:close()
        local img, err = read(path, 3)
        assert.is_nil(img)
        assert.matches(path .. ": corrupt JPEG: ", err, 1, true)
    end)

    it("refuses a real WebP file by name", function()
        local path = dir .. "/real.webp"
        local f = io.open(path, "wb")
        f:write("RIFF\0\0\0\0WEBPVP8 ")
        f:close()
        local _, err = read(path, 3)
        assert.matches(path .. ": a WebP image; nvp reads PNG and JPEG", err, 1, true)
    end)
end)
