-- nvp.likelihood.latents: images to latents and back, and the latents file (safetensors).
--
--   local latents = require "nvp.likelihood.latents"
--   local parts = latents.encode(model, images)          -- {scale1 = (N,C1,H1,W1), ...} finest first
--   assert(latents.save("z.safetensors", model, parts, names))
--   local parts, n = assert(latents.load("z.safetensors", model))
--   local px = latents.decode(model, parts)              -- Images (N,C,H,W) uint8
--
-- Encoding is deterministic: the preprocessing's dequantisation uses u = 1/2 (no noise), so decoding
-- gives the pixels back exactly unless float rounding in the flow and its inverse moves a value by
-- half a level (the round trip is measured and reported in levels by `nvp encode`). The model should
-- be in evaluation mode. The file holds one F32 tensor per scale, "scale1" (the finest, factored out
-- first) to "scaleL" (the coarsest), each (N, C_k, H_k, W_k) as model:split_latents gives them, and the
-- metadata nvp.format = "nvp-latents-1", nvp.dims (the image shape, JSON), nvp.parts (the tensor names,
-- JSON), nvp.names (the images' names, JSON) and nvp.checkpoint. Loading checks names, shapes and values
-- against the model (checkpoint.load checks the file itself); nothing in the file is run.
local ffi = require "ffi"
local T = require "nvp.tensor"
local json = require "nvp.json"
local checkpoint = require "nvp.checkpoint"
local images_mod = require "nvp.data.images"

local M = {}

M.FORMAT = "nvp-latents-1"

local function part_name(k) return "scale" .. k end

--- The latent shapes of one image of the model's size: list of {C_k, H_k, W_k}, finest first.
function M.shapes(model)
    local c = model.cfg
    local z = T.zeros{1, c.channels, c.height, c.width_px}
    local out = {}
    for k, p in ipairs(model:split_latents(z)) do out[k] = {p.shape[2], p.shape[3], p.shape[4]} end
    return out
end

--- Latents of every image of an Images batch (the model's shape), in batches of `batch`: a list of
-- tensors (N, C_k, H_k, W_k), finest first.
function M.encode(model, images, batch)
    batch = batch or 100
    local shapes = M.shapes(model)
    local parts = {}
    for k, s in ipairs(shapes) do parts[k] = T.empty{images.count, s[1], s[2], s[3]} end
    local bytes, first = images:image_bytes(), 0
    while first < images.count do
        local n = math.min(batch, images.count - first)
        local y = model:preprocess(images.data + first * bytes, n, nil, false)
        local z = model:forward(y)
        for k, p in ipairs(model:split_latents(z)) do parts[k]:narrow(first + 1, n):copy(p) end
        first = first + n
    end
    return parts
end

--- Images (uint8) of latent parts (a list, finest first, each (N, ...)), in batches of `batch`.
function M.decode(model, parts, batch)
    batch = batch or 100
    local c = model.cfg
    local count = parts[1].shape[1]
    local out = images_mod.new(count, c.channels, c.height, c.width_px)
    local bytes, first = out:image_bytes(), 0
    while first < count do
        local n = math.min(batch, count - first)
        local views = {}
        for k, p in ipairs(parts) do views[k] = p:narrow(first + 1, n) end
        local px = model:decode(model:join_latents(views))
        ffi.copy(out.data + first * bytes, px, n * bytes)
        first = first + n
    end
    return out
end

--- The joined latent z (N, C, H, W) of parts.
function M.join(model, parts)
    return model:join_latents(parts)
end

--- Write parts to path (safetensors, atomically). names: the images' names; meta: extra strings.
function M.save(path, model, parts, names, meta)
    local tensors, part_names = {}, {}
    for k, p in ipairs(parts) do
        tensors[part_name(k)] = p
        part_names[k] = part_name(k)
    end
    local c = model.cfg
    local strings = {["nvp.format"] = M.FORMAT, ["nvp.parts"] = json.encode(part_names),
                     ["nvp.dims"] = json.encode{channels = c.channels, height = c.height, width = c.width_px},
                     ["nvp.names"] = json.encode(json.array(names or {}))}
    for k, v in pairs(meta or {}) do strings["nvp." .. k] = tostring(v) end
    return checkpoint.save(path, tensors, strings)
end

--- Read a latents file for `model`: the parts (finest first) and the image count, or nil, one line
-- naming the file and the tensor or key at fault.
function M.load(path, model)
    local tensors, meta = checkpoint.load(path)
    if tensors == nil then return nil, meta end
    if meta["nvp.format"] ~= M.FORMAT then
        return nil, ("%s: not an nvp latents file (metadata nvp.format is '%s', expected '%s')"):format(path,
            tostring(meta["nvp.format"]), M.FORMAT)
    end
    local shapes = M.shapes(model)
    local parts, count = {}, nil
    for k, s in ipairs(shapes) do
        local name = part_name(k)
        local t = tensors[name]
        if t == nil then
            return nil, ("%s: tensor '%s' is missing (the checkpoint's model has %d scales)"):format(path, name, #shapes)
        end
        if not T.is_tensor(t) then return nil, ("%s: tensor '%s' is %s, expected F32"):format(path, name, t.dtype) end
        local want = {count or t.shape[1], s[1], s[2], s[3]}
        local same = #t.shape == 4
        for i = 1, 4 do same = same and t.shape[i] == want[i] end
        if not same or want[1] < 1 then
            return nil, ("%s: tensor '%s' is %s, the checkpoint expects %s"):format(path, name,
                T.shape_string(t.shape), T.shape_string{count and count or "N", s[1], s[2], s[3]})
        end
        local bad = t:count_nonfinite()
        if bad > 0 then return nil, ("%s: tensor '%s' holds %d non-finite values"):format(path, name, bad) end
        count = t.shape[1]
        parts[k] = t
    end
    for name in pairs(tensors) do
        local k = tonumber(name:match("^scale(%d+)$"))
        if k == nil or k > #shapes then
            return nil, ("%s: unexpected tensor '%s' (the checkpoint's model has %d scales: %s)"):format(path, name,
                #shapes, #shapes == 1 and "scale1" or ("scale1..scale%d"):format(#shapes))
        end
    end
    return parts, count
end

--- Spherical interpolation between two latents a, b (tensors of one image each, same shape) at t in
-- [0, 1]: sin((1-t) w)/sin w a + sin(t w)/sin w b with w the angle between them (linear when they are
-- (anti)parallel). Returns a new tensor.
function M.slerp(a, b, t)
    local na, nb = math.sqrt(a:sumsq()), math.sqrt(b:sumsq())
    local cosw = (na > 0 and nb > 0) and math.max(-1, math.min(1, a:dot(b) / (na * nb))) or 1
    local w = math.acos(cosw)
    local ca, cb
    if math.sin(w) < 1e-6 then
        ca, cb = 1 - t, t
    else
        ca, cb = math.sin((1 - t) * w) / math.sin(w), math.sin(t * w) / math.sin(w)
    end
    local out = T.empty(a.shape):zero()
    out:axpy(ca, a)
    out:axpy(cb, b)
    return out
end

--- Largest |a - b| in levels between two Images batches of one shape.
function M.max_level_diff(a, b)
    local n, worst = a.count * a:image_bytes(), 0
    for i = 0, n - 1 do
        local d = math.abs(a.data[i] - b.data[i])
        if d > worst then worst = d end
    end
    return worst
end

return M
