-- nvp.viz.gif: animated GIFs through the engine's own GIF89a encoder (engine/src/io/gif.c), and a
-- small reader of their structure for checks.
--
--   gif.write("m.gif", frames, width, height, channels, nframes, {delay = 10})
--   gif.inspect("m.gif")  --> {width = 242, height = 242, frames = 40, loops = true}
--
-- Palette: gray images use the 256 grays (exact); RGB images a fixed 6x7x6 colour cube, each channel
-- rounded to its nearest level without dithering (dithering would flicker between frames).
local nffi = require "nvp.ffi"
local C = nffi.C

local M = {}

--- frames: uint8_t* (nframes, height, width, channels) interleaved; opts.delay: centiseconds per
-- frame (default 10). Returns true, or nil, message.
function M.write(path, frames, width, height, channels, nframes, opts)
    local delay = opts and opts.delay or 10
    return nffi.try(C.nvp_gif_write(path, frames, width, height, channels, nframes, delay))
end

--- The structure of a GIF (a path or, with is_data = true, the file's bytes): {width, height, frames
-- (image descriptors), loops (NETSCAPE2.0 block present)}, or nil, message. Walks the blocks; it
-- does not decode the LZW data.
function M.inspect(source, is_data)
    local s = source
    if not is_data then
        local f, err = io.open(source, "rb")
        if f == nil then return nil, err end
        s = f:read("*a")
        f:close()
    end
    local function fail(why, at) return nil, ("gif: %s at byte %d"):format(why, at) end
    if #s < 13 or (s:sub(1, 6) ~= "GIF89a" and s:sub(1, 6) ~= "GIF87a") then return fail("no GIF header", 0) end
    local function u8(i) return s:byte(i + 1) end
    local function u16(i) return s:byte(i + 1) + 256 * s:byte(i + 2) end
    local info = {width = u16(6), height = u16(8), frames = 0, loops = false}
    local pos = 13
    local packed = u8(10)
    if bit.band(packed, 0x80) ~= 0 then pos = pos + 3 * 2 ^ (bit.band(packed, 7) + 1) end
    local function skip_sub_blocks(p)
        while true do
            local n = s:byte(p + 1)
            if n == nil then return nil end
            p = p + 1
            if n == 0 then return p end
            p = p + n
        end
    end
    while true do
        local b = s:byte(pos + 1)
        if b == nil then return fail("no trailer", pos) end
        if b == 0x3B then return info end
        if b == 0x21 then
            if s:sub(pos + 4, pos + 14) == "NETSCAPE2.0" then info.loops = true end
            pos = skip_sub_blocks(pos + 2)
            if pos == nil then return fail("truncated extension", #s) end
        elseif b == 0x2C then
            info.frames = info.frames + 1
            local ipacked = s:byte(pos + 10)
            if ipacked == nil then return fail("truncated image descriptor", pos) end
            pos = pos + 10
            if bit.band(ipacked, 0x80) ~= 0 then pos = pos + 3 * 2 ^ (bit.band(ipacked, 7) + 1) end
            pos = skip_sub_blocks(pos + 1) -- after the LZW minimum code size
            if pos == nil then return fail("truncated image data", #s) end
        else
            return fail(("unexpected block 0x%02x"):format(b), pos)
        end
    end
end

return M
