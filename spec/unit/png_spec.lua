-- PNG writer and image grids.
local ffi = require "ffi"
local png = require "nvp.viz.png"
local grid = require "nvp.viz.grid"
local images = require "nvp.data.images"

local function read_ihdr(path)
    local f = assert(io.open(path, "rb"))
    local bytes = f:read(33)
    f:close()
    local function u32(i) return bytes:byte(i) * 16777216 + bytes:byte(i + 1) * 65536 + bytes:byte(i + 2) * 256 + bytes:byte(i + 3) end
    return bytes:sub(1, 8), u32(17), u32(21), bytes:byte(25), bytes:byte(26)
end

describe("PNG", function()
    local dir
    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("writes gray and RGB images with the right header", function()
        local px = ffi.new("uint8_t[?]", 5 * 3 * 3)
        for i = 0, 44 do px[i] = i * 5 end
        for _, ch in ipairs{1, 3} do
            local path = dir .. "/img" .. ch .. ".png"
            assert(png.write(path, px, 5, 3, ch))
            local sig, w, h, depth, color = read_ihdr(path)
            assert.are.equal("\137PNG\r\n\26\n", sig)
            assert.are.same({5, 3, 8, ch == 1 and 0 or 2}, {w, h, depth, color})
        end
    end)

    it("returns nil, message for an unwritable path and a bad channel count", function()
        local px = ffi.new("uint8_t[4]")
        local ok, err = png.write(dir .. "/no/such/dir/x.png", px, 2, 2, 1)
        assert.is_nil(ok)
        assert.matches("x.png: cannot write: No such file or directory", err, 1, true)
        ok, err = png.write(dir .. "/x.png", px, 2, 2, 2)
        assert.is_nil(ok)
        assert.matches("PNG needs 1 (gray) or 3 (RGB) channels, got 2", err, 1, true)
    end)

    it("tiles a batch into a padded grid", function()
        local b = images.new(3, 1, 2, 2)
        for i = 0, 11 do b.data[i] = 10 + i end
        local px, w, h, c = grid.tile(b, {cols = 2, pad = 1, background = 0})
        assert.are.same({7, 7, 1}, {w, h, c})
        -- image 0 at (1,1), image 1 at (1,4), image 2 at (4,1)
        assert.are.same({10, 11, 12, 13}, {px[1 * 7 + 1], px[1 * 7 + 2], px[2 * 7 + 1], px[2 * 7 + 2]})
        assert.are.equal(14, px[1 * 7 + 4])
        assert.are.equal(18, px[4 * 7 + 1])
        assert.are.equal(0, px[4 * 7 + 4]) -- the empty slot keeps the background
    end)
end)
