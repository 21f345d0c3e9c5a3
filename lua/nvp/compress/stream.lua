-- nvp.compress.stream: a set of images <-> one rANS message through nvp.compress.codec, image after
-- image (decoding: last image first), on the deterministic path, from the initial bits.
--
-- Initial bits: the first image's pops (its dequantisation noise, its logit's y~) need bits on the
-- stack before anything is pushed. The message starts as init_pushes uniform 16-bit values from a
-- fixed seed (localbitsback's --ans_init_bits). The words below the stack's low-water mark were never
-- popped: they are the seed's, so a file leaves them out and the decoder makes them again. What is
-- left of the initial bits in the file, (initial words - low-water mark) * 32 bits, is the one-time
-- overhead (localbitsback's init_bits_needed). Decoding must end at exactly the initial message.
--
-- Raw images: an image whose coding leaves the grid (a value beyond float32's exact range, e.g. a latent
-- of 70 at the grid 2^-18) is not refused: the message is rolled back and its sub-pixels are pushed as
-- 8 uniform bits each. After every image a flag says which (flow: 65535 of 2^16, 2.2e-5 bits; raw: 1 of
-- 2^16, 16 bits), so the decoder knows before it pops the image.
--
-- Determinism: encoder and decoder must compute bit-identical networks, so both run on the scalar
-- path (fixed summation order, nvp.h nvp_set_cpu_path) and one thread, switched on for the call and
-- restored after it (M.deterministic).
--
--   local msg, stats = stream.encode(model, images, settings)   -- images: nvp.data.images
--   local images = stream.decode(model, msg, count, settings)    -- raises a one-line message
local ffi = require "ffi"
local bit = require "bit"
local nffi = require "nvp.ffi"
local clock = require "nvp.clock"
local rans = require "nvp.compress.rans"
local codec = require "nvp.compress.codec"
local images_mod = require "nvp.data.images"
local C, check = nffi.C, nffi.check

local M = {}

M.CPU_PATH, M.THREADS = "scalar", 1
local FLAG_PRECISION, FLAG_RAW = 16, 65535                -- the flag after each image: [0, 65535) flow, 65535 raw

--- True for the errors an image's values cause (beyond the grid's range), which send it raw; any other
-- error is a fault and is raised.
function M.is_range_error(err)
    return tostring(err):find("beyond", 1, true) ~= nil
end
M.INIT_SEED = 0x6e767022                               -- "nvp\""

--- The number of 16-bit initial pushes for images of `dims` sub-pixels: 128 bits per sub-pixel
-- (the first image pops about 24 per sub-pixel with the default settings; unused ones cost nothing).
function M.init_pushes(dims)
    return 8 * dims + 256
end

--- The initial message: `pushes` uniform 16-bit values from a xorshift32 stream of the fixed seed.
function M.initial_message(pushes)
    local m = rans.new()
    local x = M.INIT_SEED
    for _ = 1, pushes do
        x = bit.bxor(x, bit.lshift(x, 13))
        x = bit.bxor(x, bit.rshift(x, 17))
        x = bit.bxor(x, bit.lshift(x, 5))
        m:push_uniform(bit.band(bit.rshift(x, 8), 0xffff), 65536)
    end
    return m
end

--- fn() on the scalar path with one thread, the previous path and thread count restored after it
-- (also when fn raises, which is then re-raised).
function M.deterministic(fn)
    local path, threads = ffi.string(C.nvp_cpu_path()), C.nvp_get_threads()
    check(C.nvp_set_cpu_path(M.CPU_PATH))
    check(C.nvp_set_threads(M.THREADS))
    local res = {pcall(fn)}
    C.nvp_set_cpu_path(path)
    C.nvp_set_threads(threads)
    if not res[1] then error(res[2], 0) end
    return unpack(res, 2)
end

--- Encode images (nvp.data.images of the model's shape; names: theirs, for messages) onto a new message.
-- Raises "NAME cannot be coded: why" on a fault. Returns msg, stats = {model_bits (sum of -log2 p(v) over
-- the images, on the dequantisation the coder realised; a raw image's at u = 1/2), init_pushes,
-- init_words, low_words, init_bits (held before the first image), coded_bits (what the images added to
-- the message), raw (the 1-based indices of the images sent raw, and why: {i, why}), seconds (of the
-- coding, the model_bits forward passes left out)}.
function M.encode(model, images, settings, names)
    return M.deterministic(function()
        local c = codec.new(model, settings)
        local pushes = M.init_pushes(model.dims)
        local msg = M.initial_message(pushes)
        local init_words, init_bits = msg:words(), msg:bits()
        msg:reset_low()
        local bytes, model_bits, seconds, raw = images:image_bytes(), 0, 0, {}
        for i = 0, images.count - 1 do
            local t0 = clock()
            local px = images.data + i * bytes
            local before = msg:clone()
            local ok, v = pcall(c.encode, c, msg, px)
            if ok then
                msg:push(0, FLAG_RAW, FLAG_PRECISION)
            elseif M.is_range_error(v) then
                msg = before                                    -- the image's partial coding undone
                for j = 0, bytes - 1 do msg:push_uniform(px[j], 256) end
                msg:push(FLAG_RAW, 1, FLAG_PRECISION)
                raw[#raw + 1] = {i + 1, tostring(v):gsub("^[^:]*:%d+: ", "")}
                v = c:midpoint(px)
            else
                local name = names and names[i + 1] or ("image %d of %d"):format(i + 1, images.count)
                error(("%s cannot be coded: %s"):format(name, tostring(v):gsub("^[^:]*:%d+: ", "")), 0)
            end
            seconds = seconds + clock() - t0
            model_bits = model_bits + c:model_bits(v)          -- the accounting, not timed
        end
        return msg, {model_bits = model_bits, init_pushes = pushes, init_words = init_words, init_bits = init_bits,
                     low_words = msg:low_words(), coded_bits = msg:bits() - init_bits, raw = raw, seconds = seconds}
    end)
end

--- Decode `count` images from msg (which must end at the initial message: checked). Returns the images
-- (nvp.data.images) and the seconds taken; raises a one-line message when the stream does not decode.
function M.decode(model, msg, count, settings)
    return M.deterministic(function()
        local c = codec.new(model, settings)
        local cfg = model.cfg
        local out = images_mod.new(count, cfg.channels, cfg.height, cfg.width_px)
        local bytes = out:image_bytes()
        local t0 = clock()
        for i = count - 1, 0, -1 do
            local px = out.data + i * bytes
            local ok, err = pcall(function()
                if msg:peek(FLAG_PRECISION) == FLAG_RAW then
                    msg:pop(FLAG_RAW, 1, FLAG_PRECISION)
                    for j = bytes - 1, 0, -1 do px[j] = msg:pop_uniform(256) end
                else
                    msg:pop(0, FLAG_RAW, FLAG_PRECISION)
                    c:decode(msg, px)
                end
            end)
            if not ok then
                local why = tostring(err):gsub("^[^:]*:%d+: ", "")
                error(("image %d of %d does not decode: %s"):format(i + 1, count, why), 0)
            end
        end
        local seconds = clock() - t0
        if not (msg == M.initial_message(M.init_pushes(model.dims))) then
            error("the stream does not end at the initial bits (altered, or coded with another model)", 0)
        end
        return out, seconds
    end)
end

return M
