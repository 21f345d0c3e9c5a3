-- nvp.viz.grid: tile a batch of images (uint8 Images, CHW each) into one picture with padding.
--
--   local pixels, w, h, c = grid.tile(images, {cols = 8, pad = 2, background = 255})
--   png.write("grid.png", pixels, w, h, c)
local ffi = require "ffi"

local M = {}

--- Returns pixels (uint8_t*, HWC interleaved), width, height, channels.
-- opts: cols (default ceil(sqrt(count))), pad (default 2), background (0..255, default 128), count.
function M.tile(images, opts)
    opts = opts or {}
    local n = opts.count or images.count
    if n < 1 or n > images.count then
        error(("grid.tile: count %d for a batch of %d images"):format(n, images.count), 2)
    end
    local ch, ih, iw = images.channels, images.height, images.width
    if ch ~= 1 and ch ~= 3 then
        error(("grid.tile: images need 1 or 3 channels, got %d"):format(ch), 2)
    end
    local cols = opts.cols or math.ceil(math.sqrt(n))
    local rows = math.ceil(n / cols)
    local pad = opts.pad or 2
    local width = cols * iw + (cols + 1) * pad
    local height = rows * ih + (rows + 1) * pad
    local out = ffi.new("uint8_t[?]", width * height * ch)
    ffi.fill(out, width * height * ch, opts.background or 128)
    local src, plane = images.data, ih * iw
    for k = 0, n - 1 do
        local r, c = math.floor(k / cols), k % cols
        local y0, x0 = pad + r * (ih + pad), pad + c * (iw + pad)
        local base = k * ch * plane
        for y = 0, ih - 1 do
            local row = ((y0 + y) * width + x0) * ch
            for x = 0, iw - 1 do
                for cc = 0, ch - 1 do
                    out[row + x * ch + cc] = src[base + cc * plane + y * iw + x]
                end
            end
        end
    end
    return out, width, height, ch
end

--- Tile a batch and write it as a PNG. Returns true, or nil, message.
function M.save_png(path, images, opts)
    local png = require "nvp.viz.png"
    local pixels, w, h, c = M.tile(images, opts)
    return png.write(path, pixels, w, h, c)
end

return M
