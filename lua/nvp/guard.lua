-- nvp.guard: the checks at the model's public entry points (nvp.flow), so that a script calling the
-- library directly is refused what the command line refuses: a non-finite input (which the s/t
-- networks' ReLUs would turn into 0, moving other images' latents and poisoning the batch-norm
-- averages), an empty batch, a bad temperature, an input of the wrong shape or type. Each failure is
-- one line naming the entry point and the tensor.
--
-- The finiteness check is one vectorised pass (nvp_count_nonfinite); only a tensor that fails it is
-- scanned again for the index of its first bad element. model.check_finite = false skips it (for a
-- caller that has checked its data and wants the pass back: ~0.1 % of a training step, see
-- experiments/results/reliability.md).
local ffi = require "ffi"
local T = require "nvp.tensor"

local M = {}

local count = ffi.new("int64_t[1]")
local C = require("nvp.ffi").C

--- Raise when tensor t (named `name`, given to `entry`) holds a NaN or an infinity.
function M.finite(model, entry, name, t)
    if model.check_finite == false then return end
    C.nvp_count_nonfinite(count, t.data, t.numel)
    if count[0] == 0 then return end
    for i = 0, t.numel - 1 do
        local v = t.data[i]
        if v ~= v or v == math.huge or v == -math.huge then
            error(("%s: tensor '%s' %s holds %d non-finite values, the first at index %d (%s); nothing was "
                .. "computed (model.check_finite = false skips this check)"):format(entry, name,
                T.shape_string(t.shape), tonumber(count[0]), i, tostring(v)), 3)
        end
    end
end

--- Raise unless t is a tensor of shape (N, C, H, W) with the model's channels and N >= 1 (sides
-- checked by the layers, which name the size they need).
function M.images_tensor(model, entry, name, t)
    if not T.is_tensor(t) then
        error(("%s: '%s' must be an nvp.tensor, got %s"):format(entry, name, type(t)), 3)
    end
    if #t.shape ~= 4 or t.shape[2] ~= model.cfg.channels or t.shape[1] < 1 then
        error(("%s: tensor '%s' has shape %s, expected (N,%d,H,W) with N >= 1"):format(entry, name,
            T.shape_string(t.shape), model.cfg.channels), 3)
    end
end

--- pixels, n: a uint8 pointer and an image count, or an nvp.data.images batch (n = its count, or its
-- first n). Returns the pointer and the count; raises on an empty batch or an images batch of the
-- wrong size.
function M.pixels(model, entry, pixels, n)
    if type(pixels) == "table" and pixels.data ~= nil and pixels.count ~= nil then
        local c = model.cfg
        if pixels.channels ~= c.channels or pixels.height ~= c.height or pixels.width ~= c.width_px then
            error(("%s: images of %dx%dx%d, the model takes %dx%dx%d"):format(entry, pixels.channels, pixels.height,
                pixels.width, c.channels, c.height, c.width_px), 3)
        end
        if n ~= nil and (type(n) ~= "number" or n > pixels.count) then
            error(("%s: n = %s, but the batch holds %d images"):format(entry, tostring(n), pixels.count), 3)
        end
        n = n or pixels.count
        pixels = pixels.data
    elseif type(pixels) ~= "cdata" then
        error(("%s: pixels must be an images batch (nvp.data.images) or a uint8_t pointer with a count, got %s")
            :format(entry, type(pixels)), 3)
    end
    if type(n) ~= "number" or n < 1 or n ~= math.floor(n) then
        error(("%s: the image count must be a positive integer, got %s"):format(entry, tostring(n)), 3)
    end
    return pixels, n
end

--- A temperature: finite and >= 0.
function M.temperature(entry, t)
    if type(t) ~= "number" or t ~= t or t < 0 or t == math.huge then
        error(("%s: temperature must be a finite number >= 0, got %s"):format(entry, tostring(t)), 3)
    end
end

return M
