-- nvp.likelihood.complexity: an image's complexity as its losslessly compressed size, the correction
-- of Serra et al., "Input complexity and out-of-distribution detection with likelihood-based
-- generative models" (ICLR 2020): S(x) = -log2 p(x) - L(x), here per dimension,
--
--   corrected = bits/dim - L(x) / D,
--
-- with L(x) the bits of the zlib stream (the IDAT chunks' data) of the image written as an 8-bit PNG
-- by nvp's own writer (libpng, default filters and zlib level; engine/src/io/png.c). The PNG's fixed
-- overhead (signature, IHDR, IEND, chunk framing) is left out: it is the same for every image of a
-- shape and would only shift the score. Serra et al. found PNG a weaker compressor than FLIF but with
-- the same ordering of datasets.
--
--   local complexity = require "nvp.likelihood.complexity"
--   local bits = complexity.png_bits(images)   -- Lua array: L(x) in bits, one per image
local fs = require "nvp.fs"
local png = require "nvp.viz.png"
local output = require "nvp.likelihood.output"

local M = {}

--- Bits of the zlib stream in a PNG file's bytes (the sum of its IDAT chunks' lengths, times 8).
function M.idat_bits(bytes)
    local i, total = 9, 0
    while i + 7 <= #bytes do
        local b1, b2, b3, b4 = bytes:byte(i, i + 3)
        local len = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
        if bytes:sub(i + 4, i + 7) == "IDAT" then total = total + len end
        i = i + 12 + len
    end
    return 8 * total
end

--- L(x) in bits for every image of an Images batch (PNG-compressed one at a time through a temporary
-- file, removed afterwards). Returns a Lua array, or nil, message when the temporary cannot be written.
function M.png_bits(images, tmp)
    tmp = tmp or os.tmpname()
    local out = {}
    local bytes = images:image_bytes()
    for i = 0, images.count - 1 do
        local hwc = output.hwc(images.data + i * bytes, images.channels, images.height, images.width)
        local ok, err = png.write(tmp, hwc, images.width, images.height, images.channels)
        if not ok then
            os.remove(tmp)
            return nil, err
        end
        out[i + 1] = M.idat_bits(assert(fs.read(tmp)))
    end
    os.remove(tmp)
    return out
end

return M
