-- nvp.viz.latent: the latent-space arithmetic the figures share, between uint8 images and z.
--
--   local latent = require "nvp.viz.latent"
--   local z = latent.encode(model, images)          -- (N, C, H, W) latents of an Images batch
--   local imgs = latent.decode(model, z)            -- back to an Images batch (uint8)
--   local mid = latent.mix{{0.5, za}, {0.5, zb}}    -- a weighted sum of latents
--
-- Encoding is deterministic: the preprocessing's dequantisation uses u = 1/2 (no noise), so
-- decode(encode(x)) gives x back up to float rounding (at most 1 level). Decoding inverts the flow,
-- then the logit and the dequantisation exactly as the preprocessing defines them (flow.decode).
-- The model should be in evaluation mode (model:evaluate()): batch norm uses running averages.
local ffi = require "ffi"
local T = require "nvp.tensor"
local flow = require "nvp.flow"
local images_mod = require "nvp.data.images"

local M = {}

--- Latents of n images (an Images batch, all of them unless n is given): a new (n, C, H, W) tensor.
function M.encode(model, images, n)
    n = n or images.count
    local cfg = model.cfg
    if images.channels ~= cfg.channels or images.height ~= cfg.height or images.width ~= cfg.width_px then
        error(("latent.encode: images of %dx%dx%d, the model takes %dx%dx%d"):format(images.channels, images.height,
            images.width, cfg.channels, cfg.height, cfg.width_px), 2)
    end
    if n < 1 or n > images.count then
        error(("latent.encode: %d images asked of a batch of %d"):format(n, images.count), 2)
    end
    local y = model:preprocess(images.data, n, nil, false)
    local z = model:forward(y)
    return z:clone()
end

--- Images (uint8) of latents z (N, C, H, W) of any size the model accepts.
function M.decode(model, z)
    local px = model:decode(z)
    return images_mod.wrap(px, z.shape[1], z.shape[2], z.shape[3], z.shape[4])
end

--- The sides a model with S scales accepts are positive multiples of 2^(S-1). Raises, naming the
-- valid sizes, when height x width is not one; `what` prefixes the message.
function M.check_size(model, height, width, what)
    local m = flow.side_multiple(model.cfg.scales)
    local function ok(s) return type(s) == "number" and s >= m and s % m == 0 end
    if ok(height) and ok(width) then return end
    local hints = {}
    for _, side in ipairs{{"height", height}, {"width", width}} do
        local v = side[2]
        if not ok(v) then
            local lo = type(v) == "number" and math.max(m, math.floor(v / m) * m) or m
            local alt = (type(v) == "number" and v > m) and ("%d or %d"):format(lo, lo + m) or tostring(m)
            hints[#hints + 1] = ("%s %s: try %s"):format(side[1], tostring(v), alt)
        end
    end
    error(("%s: %sx%s is not a valid size for a model with %d scales: the sides must be positive multiples "
        .. "of %d (%s)"):format(what or "latent", tostring(height), tostring(width), model.cfg.scales, m,
        table.concat(hints, "; ")), 2)
end

--- Standard-normal latents scaled by temperature t: a new (n, C, height, width) tensor.
function M.prior(model, rng, n, t, height, width)
    height, width = height or model.cfg.height, width or model.cfg.width_px
    M.check_size(model, height, width, "latent.prior")
    local z = T.empty{n, model.cfg.channels, height, width}
    return rng:normal(z, 0, t or 1)
end

--- Sum of coefficient * latent over terms {{c1, z1}, {c2, z2}, ...} (same shapes), into out or a new tensor.
function M.mix(terms, out)
    out = out or T.empty(terms[1][2].shape)
    out:zero()
    for _, term in ipairs(terms) do out:axpy(term[1], term[2]) end
    return out
end

--- Row i (1-based) of a batch of latents, as a (1, C, H, W) view.
function M.row(z, i)
    return z:narrow(i, 1)
end

--- The paper's manifold point (docs/PAPER.md, "Visualization equations"): from 8 latents z[1..8] (views of one
-- image each) and angles phi, phi1 (phi'), phi2 (phi''):
--   cos phi [cos phi1 (cos phi2 z1 + sin phi2 z2) + sin phi1 (cos phi2 z3 + sin phi2 z4)]
-- + sin phi [cos phi1 (cos phi2 z5 + sin phi2 z6) + sin phi1 (cos phi2 z7 + sin phi2 z8)]
function M.sphere(zs, phi, phi1, phi2, out)
    local a = {math.cos(phi), math.sin(phi)}
    local b = {math.cos(phi1), math.sin(phi1)}
    local c = {math.cos(phi2), math.sin(phi2)}
    local terms = {}
    for i = 0, 7 do
        local ia, ib, ic = math.floor(i / 4), math.floor(i / 2) % 2, i % 2
        terms[#terms + 1] = {a[ia + 1] * b[ib + 1] * c[ic + 1], zs[i + 1]}
    end
    return M.mix(terms, out)
end

--- z with its k finest latent parts (split_latents order, fine to coarse) replaced by noise
-- (eps = "noise", N(0, I) from rng) or zeros (eps = "zero"); k = 0 returns a copy of z.
function M.replace_finest(model, z, k, eps, rng)
    local parts = model:split_latents(z)
    if k < 0 or k >= #parts + 1 then
        error(("latent.replace_finest: k = %d, the model has %d latent parts"):format(k, #parts), 2)
    end
    for i = 1, k do
        if eps == "zero" then parts[i]:zero() else rng:normal(parts[i]) end
    end
    return model:join_latents(parts)
end

--- One Images batch of the given batches (same image shape), in order.
function M.concat(batches)
    local first = batches[1]
    local count = 0
    for _, b in ipairs(batches) do
        if b.channels ~= first.channels or b.height ~= first.height or b.width ~= first.width then
            error(("latent.concat: %s vs %s"):format(tostring(first), tostring(b)), 2)
        end
        count = count + b.count
    end
    local out = images_mod.new(count, first.channels, first.height, first.width)
    local bytes, at = first:image_bytes(), 0
    for _, b in ipairs(batches) do
        ffi.copy(out.data + at * bytes, b.data, b.count * bytes)
        at = at + b.count
    end
    return out
end

return M
