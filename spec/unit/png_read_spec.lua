-- PNG input (engine/src/io/png_read.c): what nvp_png_write wrote comes back pixel for pixel, in CHW;
-- gray <-> RGB conversions; corrupt and missing files are named.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C = nffi.C

-- pixels (h, w, c) interleaved: value of (y, x, k) = (y * 7 + x * 3 + k * 50) % 256
local function pattern(h, w, c)
    local p = ffi.new("uint8_t[?]", h * w * c)
    for y = 0, h - 1 do for x = 0, w - 1 do for k = 0, c - 1 do
        p[(y * w + x) * c + k] = (y * 7 + x * 3 + k * 50) % 256
    end end end
    return p
end

local function read(path, channels)
    local img = ffi.new("nvp_images")
    local ok, err = nffi.try(C.nvp_image_read(img, path, channels))
    if not ok then return nil, err end
    return ffi.gc(img, C.nvp_images_free)
end

describe("png read", function()
    local dir = tmpdir()

    it("returns an RGB PNG's pixels exactly, channel-major", function()
        local h, w = 5, 7
        local path = dir .. "/rgb.png"
        nffi.check(C.nvp_png_write(path, pattern(h, w, 3), w, h, 3))
        local img = assert(read(path, 3))
        assert.are.same({1, 3, h, w}, {tonumber(img.count), img.channels, img.height, img.width})
        for k = 0, 2 do for y = 0, h - 1 do for x = 0, w - 1 do
            assert.are.equal((y * 7 + x * 3 + k * 50) % 256, img.data[(k * h + y) * w + x])
        end end end
    end)

    it("replicates gray to RGB and keeps gray as one channel", function()
        local path = dir .. "/gray.png"
        nffi.check(C.nvp_png_write(path, pattern(3, 4, 1), 4, 3, 1))
        local rgb = assert(read(path, 3))
        local gray = assert(read(path, 1))
        for i = 0, 11 do
            assert.are.equal(gray.data[i], rgb.data[i])
            assert.are.equal(gray.data[i], rgb.data[12 + i])
            assert.are.equal(gray.data[i], rgb.data[24 + i])
        end
    end)

    it("names a truncated PNG and a file that is no image", function()
        local path = dir .. "/cut.png"
        nffi.check(C.nvp_png_write(path, pattern(16, 16, 3), 16, 16, 3))
        local f = io.open(path, "rb")
        local bytes = f:read("*a")
        f:close()
        f = io.open(path, "wb")
        f:write(bytes:sub(1, 60))
        f:close()
        local _, err = read(path, 3)
        assert.matches(path .. ": corrupt PNG", err, 1, true)
        local txt = dir .. "/notes.png"
        f = io.open(txt, "wb")
        f:write("hello, not a picture")
        f:close()
        _, err = read(txt, 3)
        assert.matches(txt .. ": neither PNG nor JPEG", err, 1, true)
        _, err = read(dir .. "/absent.png", 3)
        assert.matches("absent.png: cannot open", err, 1, true)
    end)
end)
