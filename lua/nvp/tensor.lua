-- nvp.tensor: float32 tensors, contiguous (NCHW for images), 64-byte aligned, owned by Lua.
--
-- The buffer is allocated by the engine (nvp_alloc) and freed by ffi.gc when the last tensor that
-- uses it is collected; views (reshape, narrow) share the buffer and keep it alive.
--
--   local T = require "nvp.tensor"
--   local x = T.zeros{64, 3, 32, 32}
--   local g = require("nvp.rng").new(42)
--   g:normal(x); print(x:mean(), x)
--   x:narrow(1, 16):fill(0)         -- the first 16 images, in place
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C, check = nffi.C, nffi.check

local Tensor = {}
Tensor.__index = Tensor

local M = {Tensor = Tensor}

local float_ptr = ffi.typeof("float *")

local function shape_string(shape)
    return "(" .. table.concat(shape, ",") .. ")"
end
M.shape_string = shape_string

local function numel_of(shape, level)
    local n = 1
    for i, d in ipairs(shape) do
        if type(d) ~= "number" or d < 0 or d ~= math.floor(d) then
            error(("tensor: dimension %d of shape %s is not a non-negative integer"):format(i,
                shape_string(shape)), level + 1)
        end
        n = n * d
    end
    return n
end

local function copy_shape(shape)
    local s = {}
    for i, d in ipairs(shape) do s[i] = d end
    return s
end

local function is_tensor(x) return getmetatable(x) == Tensor end
M.is_tensor = is_tensor

local budget = nil -- bytes tensors may still take (limit_allocations), or nil

--- Until the returned function is called, tensors may take at most `bytes` in all; one more raises
-- `why` (building a model described by a file someone sent: its tensors bound what it may need).
function M.limit_allocations(bytes, why)
    local saved = budget
    budget = {left = bytes, why = why}
    return function() budget = saved end
end

--- A new tensor of the given shape (a table {N, C, H, W} or any rank >= 1), contents undefined.
function M.empty(shape)
    if type(shape) ~= "table" or #shape == 0 then
        error("tensor: shape must be a non-empty table of sizes, e.g. {64, 3, 32, 32}", 2)
    end
    local n = numel_of(shape, 2)
    if budget then
        budget.left = budget.left - n * 4
        if budget.left < 0 then error(budget.why, 0) end
    end
    local raw = C.nvp_alloc(n * 4)
    if raw == nil then error(nffi.last_error(), 2) end
    local storage = ffi.gc(ffi.cast(float_ptr, raw), C.nvp_free)
    return setmetatable({data = storage, storage = storage, shape = copy_shape(shape), numel = n}, Tensor)
end

local stats_buf = ffi.new("int64_t[2]")

--- count, bytes: engine allocations (nvp_alloc: tensors and kernel scratch) since start; a warm
-- training step must leave both unchanged.
function M.alloc_stats()
    C.nvp_alloc_stats(stats_buf, stats_buf + 1)
    return tonumber(stats_buf[0]), tonumber(stats_buf[1])
end

function M.zeros(shape)
    local t = M.empty(shape)
    ffi.fill(t.data, t.numel * 4, 0)
    return t
end

function M.full(shape, value)
    local t = M.empty(shape)
    check(C.nvp_fill(t.data, value, t.numel))
    return t
end

--- A tensor from a flat Lua array (row-major) and a shape (default: 1-D).
function M.from_table(values, shape)
    shape = shape or {#values}
    local t = M.empty(shape)
    if #values ~= t.numel then
        error(("tensor.from_table: %d values for shape %s (%d elements)"):format(#values,
            shape_string(shape), t.numel), 2)
    end
    for i = 1, t.numel do t.data[i - 1] = values[i] end
    return t
end

--- Seeded N(0,1) and U[0,1) tensors: shorthand for Rng.new(seed):normal(zeros(shape)).
function M.randn(shape, seed)
    return require("nvp.rng").new(seed or 0):normal(M.empty(shape))
end

function M.rand(shape, seed)
    return require("nvp.rng").new(seed or 0):uniform(M.empty(shape))
end

-- ---- shape ---------------------------------------------------------------------------------

function Tensor:dim() return #self.shape end

--- size(i) for one dimension (1-based), size() for a copy of the shape.
function Tensor:size(i)
    if i == nil then return copy_shape(self.shape) end
    return self.shape[i]
end

function Tensor:same_shape(other)
    if #self.shape ~= #other.shape then return false end
    for i, d in ipairs(self.shape) do
        if other.shape[i] ~= d then return false end
    end
    return true
end

--- Raise (at the caller's caller) unless the two tensors have the same shape.
function Tensor:check_same_shape(other, what, level)
    if not is_tensor(other) then
        error(("%s: expected a tensor, got %s"):format(what or "tensor", type(other)), (level or 2) + 1)
    end
    if not self:same_shape(other) then
        error(("%s: shape mismatch %s vs %s"):format(what or "tensor", shape_string(self.shape),
            shape_string(other.shape)), (level or 2) + 1)
    end
end

--- A view with a new shape and the same number of elements (shares the buffer).
function Tensor:reshape(shape)
    local n = numel_of(shape, 2)
    if n ~= self.numel then
        error(("tensor.reshape: cannot view %s (%d elements) as %s (%d elements)"):format(
            shape_string(self.shape), self.numel, shape_string(shape), n), 2)
    end
    return setmetatable({data = self.data, storage = self.storage, shape = copy_shape(shape), numel = n}, Tensor)
end
Tensor.view = Tensor.reshape

--- A view of `count` entries along the first dimension starting at `first` (1-based).
function Tensor:narrow(first, count)
    local n0 = self.shape[1]
    if first < 1 or count < 0 or first + count - 1 > n0 or first ~= math.floor(first) then
        error(("tensor.narrow: rows %d..%d are outside %s"):format(first, first + count - 1,
            shape_string(self.shape)), 2)
    end
    local inner = n0 > 0 and self.numel / n0 or 0
    local shape = copy_shape(self.shape)
    shape[1] = count
    return setmetatable({data = self.data + (first - 1) * inner, storage = self.storage, shape = shape,
                         numel = count * inner}, Tensor)
end

-- ---- contents --------------------------------------------------------------------------------

function Tensor:fill(value)
    check(C.nvp_fill(self.data, value, self.numel))
    return self
end

function Tensor:zero()
    check(C.nvp_fill(self.data, 0, self.numel))
    return self
end

--- Copy src's elements into self (same shape; a tensor copied onto itself is left as it is).
function Tensor:copy(src)
    self:check_same_shape(src, "tensor.copy")
    if src.data ~= self.data then check(C.nvp_copy(self.data, src.data, self.numel)) end
    return self
end

function Tensor:clone()
    return M.empty(self.shape):copy(self)
end

--- Element at 1-based indices (one per dimension).
local function offset(t, idx, level)
    if #idx ~= #t.shape then
        error(("tensor: %d indices for shape %s"):format(#idx, shape_string(t.shape)), level + 1)
    end
    local off = 0
    for i, d in ipairs(t.shape) do
        local k = idx[i]
        if k < 1 or k > d then
            error(("tensor: index %d = %d is outside %s"):format(i, k, shape_string(t.shape)), level + 1)
        end
        off = off * d + (k - 1)
    end
    return off
end

function Tensor:get(...)
    return self.data[offset(self, {...}, 2)]
end

function Tensor:set(value, ...)
    self.data[offset(self, {...}, 2)] = value
    return self
end

--- Flat Lua array of the elements (row-major).
function Tensor:to_table()
    local out = {}
    for i = 1, self.numel do out[i] = self.data[i - 1] end
    return out
end

-- ---- element-wise (in place on self) ------------------------------------------------------------

--- self = self + other
function Tensor:add(other)
    self:check_same_shape(other, "tensor.add")
    check(C.nvp_add(self.data, self.data, other.data, self.numel))
    return self
end

--- self = self * other (element-wise)
function Tensor:mul(other)
    self:check_same_shape(other, "tensor.mul")
    check(C.nvp_mul(self.data, self.data, other.data, self.numel))
    return self
end

--- self = self + alpha * x
function Tensor:axpy(alpha, x)
    self:check_same_shape(x, "tensor.axpy")
    check(C.nvp_axpy(self.data, alpha, x.data, self.numel))
    return self
end

--- self = alpha * self + (beta or 0)
function Tensor:scale(alpha, beta)
    check(C.nvp_scale(self.data, self.data, alpha, beta or 0, self.numel))
    return self
end

-- ---- reductions (accumulated in double) ----------------------------------------------------------

local sum_buf = ffi.new("double[2]")

function Tensor:sum()
    check(C.nvp_sum(sum_buf, sum_buf + 1, self.data, self.numel))
    return sum_buf[0]
end

function Tensor:sumsq()
    check(C.nvp_sum(sum_buf, sum_buf + 1, self.data, self.numel))
    return sum_buf[1]
end

function Tensor:mean()
    if self.numel == 0 then return 0 / 0 end
    return self:sum() / self.numel
end

--- Population standard deviation.
function Tensor:std()
    check(C.nvp_sum(sum_buf, sum_buf + 1, self.data, self.numel))
    local n = self.numel
    local mean = sum_buf[0] / n
    return math.sqrt(math.max(sum_buf[1] / n - mean * mean, 0))
end

function Tensor:dot(other)
    self:check_same_shape(other, "tensor.dot")
    check(C.nvp_dot(sum_buf, self.data, other.data, self.numel))
    return sum_buf[0]
end

function Tensor:max_abs_diff(other)
    self:check_same_shape(other, "tensor.max_abs_diff")
    local m = 0
    for i = 0, self.numel - 1 do
        local d = math.abs(self.data[i] - other.data[i])
        if d ~= d then return d end
        if d > m then m = d end
    end
    return m
end

--- Number of NaN or infinite elements.
function Tensor:count_nonfinite()
    local buf = ffi.new("int64_t[1]")
    check(C.nvp_count_nonfinite(buf, self.data, self.numel))
    return tonumber(buf[0])
end

function Tensor:__tostring()
    if self.numel == 0 then return ("Tensor%s"):format(shape_string(self.shape)) end
    return ("Tensor%s mean=%.6g std=%.6g"):format(shape_string(self.shape), self:mean(), self:std())
end

return M
