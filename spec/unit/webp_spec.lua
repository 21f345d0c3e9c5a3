-- The animated WebP writer (engine/src/io/webp.c through nvp.viz.webp), checked by libwebp's own
-- animation decoder (libwebpdemux through the FFI) and, where Debian's `webp` package is installed,
-- by webpinfo: frame count, size, looping, timestamps, and the pixels (lossless: exact).
local ffi = require "ffi"
local webp = require "nvp.viz.webp"
local fs = require "nvp.fs"

-- n frames of w x h x c: gradients that move from frame to frame, with hard edges (every 11th
-- column inverted) unless smooth (photograph-like, what lossy WebP is for).
local function frames_of(w, h, c, n, smooth)
    local px = ffi.new("uint8_t[?]", w * h * c * n)
    for k = 0, n - 1 do
        for y = 0, h - 1 do
            for x = 0, w - 1 do
                for ch = 0, c - 1 do
                    local v = (x * 4 + y * 3 + k * 17 + ch * 60) % 256
                    if smooth then
                        v = math.floor(128 + 100 * math.sin((x + 2 * k) / 9 + ch) * math.cos((y - k) / 7))
                    elseif (x + k) % 11 == 0 then
                        v = 255 - v
                    end
                    px[(((k * h) + y) * w + x) * c + ch] = v
                end
            end
        end
    end
    return px
end

-- Largest and mean |difference| between frame k of px (c channels) and a decoded RGBA canvas.
local function diff(px, c, w, h, k, rgba)
    local worst, sum = 0, 0
    for i = 0, w * h - 1 do
        for ch = 0, 2 do
            local want = px[(k * w * h + i) * c + (c == 1 and 0 or ch)]
            local d = math.abs(rgba:byte(4 * i + ch + 1) - want)
            worst, sum = math.max(worst, d), sum + d
        end
        assert(rgba:byte(4 * i + 4) == 255, "alpha is not opaque")
    end
    return worst, sum / (w * h * 3)
end

local function webpinfo_frames(path)
    if not fs.exists("/usr/bin/webpinfo") then return nil end
    local p = io.popen("/usr/bin/webpinfo -summary " .. path .. " 2>&1")
    local out = p:read("*a")
    p:close()
    assert.matches("No error detected", out, 1, true)
    return tonumber(out:match("Number of frames: (%d+)"))
end

describe("animated WebP", function()
    local dir
    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("lossless: every pixel of every frame exact, 7 frames, looping, 50 ms each", function()
        local w, h, n = 37, 23, 7
        local px = frames_of(w, h, 3, n)
        local path = dir .. "/lossless.webp"
        assert(webp.write(path, px, w, h, 3, n, {delay = 5, quality = -1}))
        local d = assert(webp.decode(path))
        assert.are.same({w, h, 0, n}, {d.width, d.height, d.loop_count, #d.frames})
        assert.are.same({50, 100, 150, 200, 250, 300, 350}, d.timestamps)
        for k = 0, n - 1 do
            assert.are.equal(0, (diff(px, 3, w, h, k, d.frames[k + 1])), "frame " .. k)
        end
        local info = webpinfo_frames(path)
        if info then assert.are.equal(n, info) end
    end)

    it("gray frames are stored as RGB, exactly when lossless", function()
        local w, h, n = 16, 9, 3
        local px = frames_of(w, h, 1, n)
        local path = dir .. "/gray.webp"
        assert(webp.write(path, px, w, h, 1, n, {quality = -1}))
        local d = assert(webp.decode(path))
        assert.are.equal(n, #d.frames)
        for k = 0, n - 1 do assert.are.equal(0, (diff(px, 1, w, h, k, d.frames[k + 1]))) end
    end)

    it("lossy (quality 90): the frames close to the input (mean error < 3 of 255; 2.0 measured)", function()
        local w, h, n = 64, 48, 4
        local px = frames_of(w, h, 3, n, true)
        local path = dir .. "/lossy.webp"
        assert(webp.write(path, px, w, h, 3, n, {quality = 90}))
        local d = assert(webp.decode(path))
        assert.are.equal(n, #d.frames)
        for k = 0, n - 1 do
            local _, mean = diff(px, 3, w, h, k, d.frames[k + 1])
            assert(mean < 3, ("frame %d: mean |difference| %.2f"):format(k, mean))
        end
        local info = webpinfo_frames(path)
        if info then assert.are.equal(n, info) end
    end)

    it("refuses bad arguments with one line naming the file", function()
        local px = frames_of(4, 4, 3, 1)
        local function err_of(path, c, n, opts)
            local ok, err = webp.write(path, px, 4, 4, c, n, opts)
            assert.is_nil(ok)
            return err
        end
        local p = dir .. "/bad.webp"
        assert.are.equal(p .. ": WebP needs 1 (gray) or 3 (RGB) channels, got 2", err_of(p, 2, 1))
        assert.are.equal(p .. ": a WebP animation needs at least 1 frame, got 0", err_of(p, 3, 0))
        assert.are.equal(p .. ": WebP quality 101 is outside 0..100 (or < 0 for lossless)",
            err_of(p, 3, 1, {quality = 101}))
        assert.are.equal(p .. ": frame delay 0 is outside 1..16777215 milliseconds", err_of(p, 3, 1, {delay = 0}))
        assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/no/such/x.webp: cannot write",
            err_of(dir .. "/no/such/x.webp", 3, 1))
        assert.is_false(fs.exists(p))
    end)

    it("decode refuses a file that is not a WebP animation", function()
        local ok, err = webp.decode("GIF89a not a webp", true)
        assert.is_nil(ok)
        assert.are.equal("webp: not a valid WebP animation", err)
    end)
end)
