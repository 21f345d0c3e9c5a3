-- nvp.likelihood.output: files the likelihood verbs write, never half-written: text and PNGs go to a
-- temporary beside the target and are renamed over it only once complete (a failure leaves the old
-- file, if any, and no temporary).
--
--   assert(output.text("scores.jsonl", lines_joined))
--   assert(output.png("strip.png", pixels_hwc, width, height, channels))
--   assert(output.idx("set-images-idx3-ubyte", images))   -- grey images as one IDX file
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local png = require "nvp.viz.png"
local C = nffi.C

pcall(ffi.cdef, "int getpid(void);")

local M = {}

local seq = 0
local function temporary(path)
    seq = seq + 1
    return ("%s.tmp.%d.%d"):format(path, ffi.C.getpid(), seq)
end

--- Replace path with text atomically (nvp_file_write_atomic). Returns true or nil, message.
function M.text(path, text)
    local chunks = ffi.new("const void *[1]", {text})
    local sizes = ffi.new("int64_t[1]", {#text})
    local ok, err = nffi.try(C.nvp_file_write_atomic(path, chunks, sizes, 1))
    if #text < 0 then error("unreachable") end -- keeps text alive across the call
    return ok, err
end

--- Write an 8-bit PNG (pixels: height x width x channels interleaved) to a temporary, then rename it
-- over path. Returns true or nil, message.
function M.png(path, pixels, width, height, channels)
    local tmp = temporary(path)
    local ok, err = png.write(tmp, pixels, width, height, channels)
    if not ok then
        os.remove(tmp)
        return nil, (err:gsub(tmp:gsub("%p", "%%%0"), (path:gsub("%%", "%%%%"))))
    end
    local renamed, rerr = os.rename(tmp, path)
    if not renamed then
        os.remove(tmp)
        return nil, ("%s: cannot write: %s"):format(path, tostring(rerr))
    end
    return true
end

--- Every image of `images` (nvp.data.images) as DIR/000001.png ... in order, each written atomically
-- (DIR made if missing). Returns true or nil, message.
function M.pngs(dir, images)
    local ok, err = require("nvp.fs").mkdir_p(dir)
    if not ok then return nil, err end
    local c, h, w = images.channels, images.height, images.width
    for i = 1, images.count do
        local hwc = M.hwc(images.data + (i - 1) * images:image_bytes(), c, h, w)
        ok, err = M.png(("%s/%06d.png"):format(dir, i), hwc, w, h, c)
        if not ok then return nil, err end
    end
    return true
end

--- Every image of a grey set (nvp.data.images, channels 1) as one IDX file (magic 0x00000803, big-endian
-- count, height, width, then the pixels: what nvp.data.idx and the Fashion-MNIST files are), written
-- atomically. Returns true or nil, message.
function M.idx(path, images)
    if images.channels ~= 1 then
        return nil, ("%s: an IDX image file holds grey images; these are %dx%dx%d (write PNGs to a directory)")
            :format(path, images.channels, images.height, images.width)
    end
    local function be32(v)
        return string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256, math.floor(v / 256) % 256,
            v % 256)
    end
    local header = be32(0x803) .. be32(images.count) .. be32(images.height) .. be32(images.width)
    local chunks = ffi.new("const void *[2]", {header, images.data})
    local sizes = ffi.new("int64_t[2]", {#header, images.count * images:image_bytes()})
    local ok, err = nffi.try(C.nvp_file_write_atomic(path, chunks, sizes, 2))
    if #header < 0 then error("unreachable") end -- keeps header alive across the call
    return ok, err
end

--- CHW planes of one image (uint8 pointer) -> a new HWC interleaved buffer (what PNG writers take).
function M.hwc(chw, channels, height, width)
    local plane = height * width
    local out = ffi.new("uint8_t[?]", channels * plane)
    for c = 0, channels - 1 do
        for p = 0, plane - 1 do out[p * channels + c] = chw[c * plane + p] end
    end
    return out
end

return M
