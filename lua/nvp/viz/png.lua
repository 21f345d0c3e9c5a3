-- nvp.viz.png: write 8-bit PNGs (gray or RGB) through the engine's libpng writer.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C = nffi.C

local M = {}

--- pixels: uint8_t* (height, width, channels) interleaved. Returns true, or nil, message.
function M.write(path, pixels, width, height, channels)
    return nffi.try(C.nvp_png_write(path, pixels, width, height, channels))
end

return M
