-- nvp.viz.webp: full-colour animations as animated WebP through libwebp's encoder
-- (engine/src/io/webp.c), and a decoder for checks (libwebpdemux's WebPAnimDecoder, loaded on first use).
--
--   webp.write("m.webp", frames, width, height, channels, nframes, {delay = 10, quality = 90})
--   webp.decode("m.webp") --> {width, height, loop_count, frames = {rgba string, ...}, timestamps = {ms, ...}}
--
-- delay is in centiseconds, as for nvp.viz.gif; quality < 0 writes lossless frames (every pixel
-- exact), 0..100 lossy ones.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C = nffi.C

local M = {}

M.DEFAULT_QUALITY = 90

--- frames: uint8_t* (nframes, height, width, channels) interleaved. opts.delay: centiseconds per frame
-- (default 10); opts.quality: 0..100, or < 0 for lossless (default M.DEFAULT_QUALITY). Returns true, or
-- nil, message.
function M.write(path, frames, width, height, channels, nframes, opts)
    local delay = opts and opts.delay or 10
    local quality = opts and opts.quality or M.DEFAULT_QUALITY
    return nffi.try(C.nvp_webp_write(path, frames, width, height, channels, nframes, delay * 10, quality))
end

local WEBP_DEMUX_ABI_VERSION = 0x0107 -- <webp/demux.h>, libwebp 1.2.4 (Debian 12)
local MODE_RGBA = 1
local demux

local function load_demux()
    if demux then return demux end
    ffi.cdef [[
    typedef struct nvp_webp_data { const uint8_t *bytes; size_t size; } nvp_webp_data;
    typedef struct nvp_webp_anim_decoder_options { int color_mode; int use_threads; uint32_t padding[7]; }
        nvp_webp_anim_decoder_options;
    typedef struct nvp_webp_anim_info { uint32_t canvas_width, canvas_height, loop_count, bgcolor, frame_count;
        uint32_t pad[4]; } nvp_webp_anim_info;
    typedef struct nvp_webp_anim_decoder nvp_webp_anim_decoder;
    int WebPAnimDecoderOptionsInitInternal(nvp_webp_anim_decoder_options *, int);
    nvp_webp_anim_decoder *WebPAnimDecoderNewInternal(const nvp_webp_data *, const nvp_webp_anim_decoder_options *, int);
    int WebPAnimDecoderGetInfo(const nvp_webp_anim_decoder *, nvp_webp_anim_info *);
    int WebPAnimDecoderHasMoreFrames(const nvp_webp_anim_decoder *);
    int WebPAnimDecoderGetNext(nvp_webp_anim_decoder *, uint8_t **buf, int *timestamp);
    void WebPAnimDecoderDelete(nvp_webp_anim_decoder *);
    ]]
    for _, name in ipairs{"webpdemux", "libwebpdemux.so.2"} do
        local ok, lib = pcall(ffi.load, name)
        if ok then
            demux = lib
            return demux
        end
    end
    error("webp: cannot load libwebpdemux (apt-get install libwebp-dev)", 0)
end

--- Decode an animated WebP (a path or, with is_data = true, the file's bytes) into its composed
-- frames: {width, height, loop_count, frames = {RGBA bytes of each full canvas}, timestamps = {end
-- time of each frame, ms}}, or nil, message.
function M.decode(source, is_data)
    local s = source
    if not is_data then
        local f, err = io.open(source, "rb")
        if f == nil then return nil, err end
        s = f:read("*a")
        f:close()
    end
    local lib = load_demux()
    local opts = ffi.new("nvp_webp_anim_decoder_options")
    if lib.WebPAnimDecoderOptionsInitInternal(opts, WEBP_DEMUX_ABI_VERSION) == 0 then
        return nil, "webp: libwebpdemux ABI mismatch"
    end
    opts.color_mode = MODE_RGBA
    local data = ffi.new("nvp_webp_data", {ffi.cast("const uint8_t *", s), #s})
    local dec = lib.WebPAnimDecoderNewInternal(data, opts, WEBP_DEMUX_ABI_VERSION)
    if dec == nil then return nil, "webp: not a valid WebP animation" end
    local info = ffi.new("nvp_webp_anim_info")
    local out = {frames = {}, timestamps = {}}
    if lib.WebPAnimDecoderGetInfo(dec, info) ~= 0 then
        out.width, out.height = tonumber(info.canvas_width), tonumber(info.canvas_height)
        out.loop_count = tonumber(info.loop_count)
        local buf, ts = ffi.new("uint8_t *[1]"), ffi.new("int[1]")
        while lib.WebPAnimDecoderHasMoreFrames(dec) ~= 0 do
            if lib.WebPAnimDecoderGetNext(dec, buf, ts) == 0 then
                out = nil
                break
            end
            out.frames[#out.frames + 1] = ffi.string(buf[0], out.width * out.height * 4)
            out.timestamps[#out.timestamps + 1] = ts[0]
        end
    else
        out = nil
    end
    lib.WebPAnimDecoderDelete(dec)
    if out == nil then return nil, "webp: a frame does not decode" end
    return out
end

return M
