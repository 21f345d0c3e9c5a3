-- nvp.workspace: transient tensors shared by every layer, keyed by a name and a shape.
--
-- Gradients inside an s/t network live only during that network's backward pass, which never
-- overlaps another's, so all networks share them: memory for transients is paid once per distinct
-- shape instead of once per layer. A caller must be done with a tensor before anything else asks
-- for the same key and shape.
local T = require "nvp.tensor"

local M = {}

local cache = {}
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

--- Bytes held by the workspace.
function M.bytes()
    local n = 0
    for _, t in pairs(cache) do n = n + t.numel * 4 end
    return n
end

--- Drop every cached tensor (they are freed once no one else holds them).
function M.clear()
    cache = {}
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
