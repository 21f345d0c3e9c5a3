-- nvp.data.transforms: a recipe's data pipeline (data.transforms), applied to each uint8 training
-- batch after the loader gathers it, and (the deterministic ones) to the held-out images once.
--
--   data = {dataset = "cifar10", transforms = {
--       "flip",                                  -- mirror half of the images (training only)
--       {"random_crop", size = 32, padding = 4}, -- zero-pad by 4, take a random 32x32 window (training;
--                                                -- evaluation takes the central window of the unpadded image)
--       {"center_crop", size = 24},              -- the central 24x24 (both)
--       {"resize", size = 16},                   -- bilinear to 16x16 (both)
--       function(batch, rng) ... end,            -- your own, in place on batch.data (training only)
--   }}
--
-- batch = {data = uint8_t* (n, channels, height, width), n, channels, height, width}; rng an nvp.rng
-- whose draws depend only on (seed, the batch's place in the run), so a resumed run sees the same
-- augmentations. The crops and the resize are the engine's kernels (nvp_crop_u8, nvp_resize_bilinear_u8,
-- nvp_flip_horizontal_u8); a Lua transform may use anything (it must keep the batch's size).
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local images_mod = require "nvp.data.images"
local C, check = nffi.C, nffi.check

local M = {}

local KINDS = {flip = {}, random_crop = {size = true, padding = true}, center_crop = {size = true},
               resize = {size = true}}
local STRIDE = 2 ^ 32 -- noise counters reserved per batch

-- {kind, args} of one entry; raises naming the entry.
local function parse(entry, i, level)
    if type(entry) == "function" then return {kind = "lua", fn = entry} end
    if type(entry) == "string" then entry = {entry} end
    if type(entry) == "table" and entry[1] == nil and entry.kind ~= nil then -- as stored in a checkpoint
        local copy = {entry.kind}
        for k, v in pairs(entry) do if k ~= "kind" then copy[k] = v end end
        entry = copy
    end
    if type(entry) ~= "table" or type(entry[1]) ~= "string" or KINDS[entry[1]] == nil then
        local names = {}
        for k in pairs(KINDS) do names[#names + 1] = k end
        table.sort(names)
        error(("recipe: 'data.transforms[%d]' must be one of %s (as \"name\" or {\"name\", key = value}) or a "
            .. "function(batch, rng), got %s"):format(i, table.concat(names, ", "), type(entry) == "table" and
            tostring(entry[1]) or tostring(entry)), level + 1)
    end
    local kind = entry[1]
    local out = {kind = kind}
    for k, v in pairs(entry) do
        if k ~= 1 then
            if not KINDS[kind][k] then
                error(("recipe: 'data.transforms[%d]' (%s) has no key '%s'"):format(i, kind, tostring(k)), level + 1)
            end
            if type(v) ~= "number" or v ~= math.floor(v) or v < (k == "padding" and 0 or 1) or v > 4096 then
                error(("recipe: 'data.transforms[%d].%s' must be a %s integer, got %s"):format(i, k,
                    k == "padding" and "non-negative" or "positive", tostring(v)), level + 1)
            end
            out[k] = v
        end
    end
    if KINDS[kind].size and out.size == nil then
        error(("recipe: 'data.transforms[%d]' (%s) needs size = S"):format(i, kind), level + 1)
    end
    out.padding = out.padding or 0
    return out
end

--- The list as JSON-ready data: {kind = name, key = value} objects; Lua transforms left out (they
-- are training-time augmentations, and a checkpoint holds no code).
function M.data(list)
    local out = {}
    for i = 1, #list do
        local s = parse(list[i], i, 1)
        if s.kind ~= "lua" then
            local entry = {kind = s.kind}
            for k in pairs(KINDS[s.kind]) do entry[k] = s[k] end
            out[#out + 1] = entry
        end
    end
    return out
end

--- Raise naming the first bad entry of a transforms list.
function M.check(list, level)
    level = (level or 1) + 1
    for i = 1, #list do parse(list[i], i, level) end
    for k in pairs(list) do
        if type(k) ~= "number" then error(("recipe: 'data.transforms' must be a list, got key '%s'"):format(
            tostring(k)), level) end
    end
end

local function out_dims_of(steps, dims)
    local d = {channels = dims.channels, height = dims.height, width = dims.width}
    for _, s in ipairs(steps) do
        if s.kind == "random_crop" or s.kind == "center_crop" then
            local pad = s.kind == "random_crop" and s.padding or 0
            if s.size > d.height + 2 * pad or s.size > d.width + 2 * pad then
                error(("data.transforms: %s of size %d does not fit %dx%d images%s"):format(s.kind, s.size, d.height,
                    d.width, pad > 0 and (" padded by %d"):format(pad) or ""), 0)
            end
            d.height, d.width = s.size, s.size
        elseif s.kind == "resize" then
            d.height, d.width = s.size, s.size
        end
    end
    return d
end

--- The image dims after the pipeline, for images of `dims` {channels, height, width}.
function M.out_dims(list, dims)
    local steps = {}
    for i = 1, #list do steps[i] = parse(list[i], i, 1) end
    return out_dims_of(steps, dims)
end

local Pipeline = {}
Pipeline.__index = Pipeline

--- list: data.transforms; dims of the dataset's images; seed of the augmentations' stream.
function M.new(list, dims, seed)
    local self = setmetatable({steps = {}, seed = seed or 0, dims = dims}, Pipeline)
    for i = 1, #list do self.steps[i] = parse(list[i], i, 2) end
    self.out = out_dims_of(self.steps, dims)
    self.identity = #self.steps == 0
    self.buffers = {}
    return self
end

function Pipeline:changes_size()
    return self.out.height ~= self.dims.height or self.out.width ~= self.dims.width
end

-- A buffer for n images of d, kept per step.
local function buffer(self, key, n, d)
    local bytes = n * d.channels * d.height * d.width
    local b = self.buffers[key]
    if b == nil or b.bytes < bytes then
        b = {data = ffi.new("uint8_t[?]", bytes), bytes = bytes}
        self.buffers[key] = b
    end
    return b.data
end

-- Image k of a batch: pointer to its first byte.
local function image(data, k, d)
    return data + k * d.channels * d.height * d.width
end

-- One step on n images of dims d (data); returns the output data and dims. rng nil: evaluation.
local function apply(self, i, s, data, n, d, rng)
    if s.kind == "flip" then
        if rng == nil then return data, d end
        local flags = buffer(self, i .. ".flags", n, {channels = 1, height = 1, width = 1})
        local u = rng:uniform(T.empty{n})
        for k = 0, n - 1 do flags[k] = u.data[k] < 0.5 and 1 or 0 end
        check(C.nvp_flip_horizontal_u8(data, flags, n, d.channels, d.height, d.width), 3)
        return data, d
    elseif s.kind == "lua" then
        if rng == nil then return data, d end
        local batch = {data = data, n = n, channels = d.channels, height = d.height, width = d.width}
        s.fn(batch, rng)
        if batch.data ~= data or batch.n ~= n or batch.height ~= d.height or batch.width ~= d.width then
            error(("data.transforms[%d]: a Lua transform must work in place on batch.data and keep its size"):format(i), 0)
        end
        return data, d
    end
    local od = {channels = d.channels, height = s.size, width = s.size}
    local out = buffer(self, i, n, od)
    if s.kind == "resize" then
        for k = 0, n - 1 do
            check(C.nvp_resize_bilinear_u8(image(out, k, od), image(data, k, d), d.channels, d.height, d.width,
                od.height, od.width), 3)
        end
        return out, od
    end
    local pad = (s.kind == "random_crop" and rng ~= nil) and s.padding or 0
    local src, sd = data, d
    if pad > 0 then -- zero-padded copies, row by row
        sd = {channels = d.channels, height = d.height + 2 * pad, width = d.width + 2 * pad}
        src = buffer(self, i .. ".pad", n, sd)
        ffi.fill(src, n * sd.channels * sd.height * sd.width, 0)
        for k = 0, n * d.channels - 1 do
            for y = 0, d.height - 1 do
                ffi.copy(src + (k * sd.height + y + pad) * sd.width + pad, data + (k * d.height + y) * d.width, d.width)
            end
        end
    end
    local u = rng and s.kind == "random_crop" and rng:uniform(T.empty{2 * n})
    for k = 0, n - 1 do
        local y0, x0
        if u then
            y0 = math.min(sd.height - od.height, math.floor(u.data[2 * k] * (sd.height - od.height + 1)))
            x0 = math.min(sd.width - od.width, math.floor(u.data[2 * k + 1] * (sd.width - od.width + 1)))
        else -- central (for an odd margin the extra pixel goes to the bottom/right)
            y0, x0 = math.floor((sd.height - od.height) / 2), math.floor((sd.width - od.width) / 2)
        end
        if od.height > sd.height or od.width > sd.width then
            error(("data.transforms[%d]: a %dx%d crop of %dx%d images"):format(i, od.height, od.width, sd.height,
                sd.width), 0)
        end
        check(C.nvp_crop_u8(image(out, k, od), image(src, k, sd), d.channels, sd.height, sd.width, y0, x0, od.height,
            od.width, 0), 3)
    end
    return out, od
end

--- A training batch through every step: returns the data (the loader's buffer, changed in place, or
-- the pipeline's own) of n images of self.out. `position` numbers the batch in the run (epoch * batches
-- + index), so that its augmentations are drawn the same after a resume.
function Pipeline:train_batch(data, n, position)
    if self.identity then return data end
    local rng = Rng.new(self.seed)
    rng.counter = ffi.new("uint64_t", position) * STRIDE
    local d = self.dims
    for i, s in ipairs(self.steps) do data, d = apply(self, i, s, data, n, d, rng) end
    return data
end

--- Images (an nvp.data.images set) through the deterministic steps (central crops, resizes): a new
-- set, or the same one when nothing changes it. count (optional): only the first count images.
function Pipeline:eval_images(images, count)
    if not self:changes_size() then return images end
    count = math.min(count or images.count, images.count)
    local d = {channels = images.channels, height = images.height, width = images.width}
    local out = images_mod.new(count, self.out.channels, self.out.height, self.out.width)
    local chunk = 256
    for first = 0, count - 1, chunk do
        local n = math.min(chunk, count - first)
        local data, od = images.data + first * images:image_bytes(), d
        for i, s in ipairs(self.steps) do data, od = apply(self, i, s, data, n, od, nil) end
        ffi.copy(out.data + first * out:image_bytes(), data, n * out:image_bytes())
    end
    out.labels, out.label_storage, out.classes = images.labels, images.label_storage, images.classes
    return out
end

return M
