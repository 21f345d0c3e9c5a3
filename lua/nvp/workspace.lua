-- nvp.workspace: transient tensors shared by every layer, keyed by a name and a shape.
--
-- Gradients inside an s/t network live only during that network's backward pass, which never
-- overlaps another's, so all networks share them: memory for transients is paid once per distinct
-- shape instead of once per layer. A caller must be done with a tensor before anything else asks
-- for the same key and shape.
local T = require "nvp.tensor"

local M = {}

local cache = {}
local by_name = {} -- M.any_shape: name -> {storage = Tensor (the largest asked for), views = {key -> Tensor}}
local batch = nil  -- the batch size the cached tensors were made for (use_batch)

local function key_of(name, shape)
    return name .. "(" .. table.concat(shape, ",") .. ")"
end

--- A tensor for (name, shape), contents undefined.
function M.get(name, shape)
    local key = key_of(name, shape)
    local t = cache[key]
    if t == nil then
        t = T.empty(shape)
        cache[key] = t
    end
    return t
end

--- Same, zero-filled.
function M.zeroed(name, shape)
    return M.get(name, shape):zero()
end

--- A tensor of `shape` in storage that every shape asked for under `name` shares (grown to the
-- largest), contents undefined. For transients whose shapes differ between layers that never run at
-- once: the gradients inside an s/t network are (N, 64, 32, 32) in one coupling and (N, 128, 16, 16)
-- in another, and need one buffer between them, not one each. The same rule as get: a caller must be
-- done with the tensor before anything else asks for `name`, in any shape.
function M.any_shape(name, shape)
    local entry = by_name[name]
    local key = key_of(name, shape)
    local view = entry and entry.views[key]
    if view ~= nil then return view end
    local numel = 1
    for i = 1, #shape do numel = numel * shape[i] end
    if entry == nil or entry.storage.numel < numel then
        entry = {storage = T.empty{numel}, views = {}} -- views of the smaller storage are dropped with it
        by_name[name] = entry
    end
    view = entry.storage:narrow(1, numel):reshape(shape)
    entry.views[key] = view
    return view
end

--- Grow `name`'s any_shape storage to hold `shape` now, so that a pass which asks for a smaller shape
-- first does not allocate twice (the smaller storage and then the larger, both alive at the peak).
function M.reserve(name, shape)
    M.any_shape(name, shape)
end

--- Same, zero-filled.
function M.any_shape_zeroed(name, shape)
    return M.any_shape(name, shape):zero()
end

--- Bytes held by the workspace.
function M.bytes()
    local n = 0
    for _, t in pairs(cache) do n = n + t.numel * 4 end
    for _, entry in pairs(by_name) do n = n + entry.storage.numel * 4 end
    return n
end

--- Drop every cached tensor (they are freed once no one else holds them).
function M.clear()
    cache = {}
    by_name = {}
end

--- Tensors are cached per shape, so a model announces its batch size before each pass: a new size
-- (evaluation, sampling, the last partial batch) drops the other size's set instead of keeping both.
function M.use_batch(n)
    if n == batch then return end
    if batch ~= nil then
        M.clear()
        collectgarbage()
    end
    batch = n
end

return M
