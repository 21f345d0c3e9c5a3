-- nvp.compress.rans: the engine's rANS message stack (engine/src/kernels/rans.c) for Lua.
-- A message is a stack: push encodes, pop decodes, in LIFO order (bits-back: pop a sample under
-- one distribution, push it back under another). Misuse and a failed pop raise the engine's
-- one-line message; from_bytes returns nil, err for a refused stream.
--
--   local rans = require "nvp.compress.rans"
--   local m = rans.new()
--   m:push_uniform(5, 256)                       -- 8 bits
--   local cdf = rans.quantize({0.7, 0.2, 0.1}, 16)
--   m:push_cdf(2, cdf, 16)
--   local s = m:pop_cdf(cdf, 16)                 -- 2
--   local bytes = m:to_bytes()                   -- a Lua string; rans.from_bytes(bytes) -> message
local ffi = require "ffi"
local nffi = require "nvp.ffi"

local C = nffi.C

local M = {}

local Message = {}
Message.__index = Message

local dists = {gaussian = 0, logistic = 1}
local u32 = ffi.typeof("uint32_t[1]")
local i32 = ffi.typeof("int32_t[1]")
local handle_pp = ffi.typeof("nvp_rans *[1]")

local function check(status)
    if status ~= 0 then error(nffi.last_error(), 3) end
end

local function wrap(ptr)
    return setmetatable({raw = ffi.gc(ptr, C.nvp_rans_free)}, Message)
end

--- An empty message.
function M.new()
    local pp = handle_pp()
    check(C.nvp_rans_create(pp))
    return wrap(pp[0])
end

--- A message read from a string written by to_bytes; nil, err when it is refused.
function M.from_bytes(bytes)
    if type(bytes) ~= "string" then error("rans.from_bytes: expected a string, got " .. type(bytes), 2) end
    local pp = handle_pp()
    local st = C.nvp_rans_from_bytes(pp, bytes, #bytes)
    if st ~= 0 then return nil, nffi.last_error() end
    return wrap(pp[0])
end

--- The cumulative table (uint32_t[n + 1], summing to 2^precision) of probabilities p (a Lua array,
-- any positive scale): every symbol keeps freq >= 1, the rest of the mass spread in proportion.
function M.quantize(p, precision)
    local n = #p
    local total = 2 ^ precision
    if n < 1 or n > total then error(("rans.quantize: %d symbols for 2^%d slots"):format(n, precision), 2) end
    local sum = 0
    for i = 1, n do
        if not (p[i] >= 0) then error(("rans.quantize: p[%d] = %s is not >= 0"):format(i, tostring(p[i])), 2) end
        sum = sum + p[i]
    end
    if not (sum > 0) then error("rans.quantize: the probabilities sum to 0", 2) end
    local cdf = ffi.new("uint32_t[?]", n + 1)
    local spread, acc = total - n, 0
    for i = 1, n do
        acc = acc + p[i]
        cdf[i] = math.floor(spread * math.min(acc / sum, 1)) + i
    end
    cdf[n] = total
    return cdf
end

function Message:push(start, freq, precision) check(C.nvp_rans_push(self.raw, start, freq, precision)) end

function Message:peek(precision)
    local slot = u32()
    check(C.nvp_rans_peek(self.raw, precision, slot))
    return slot[0]
end

function Message:pop(start, freq, precision) check(C.nvp_rans_pop(self.raw, start, freq, precision)) end

--- symbol: 0-based, under cdf (uint32_t[nsym + 1], see quantize). Pass nsym in a hot loop: working
-- it out with ffi.sizeof stops LuaJIT's trace (106 vs 2 M symbols/s, experiments/rans_bench.lua).
function Message:push_cdf(symbol, cdf, precision, nsym)
    nsym = nsym or (ffi.sizeof(cdf) / 4 - 1)
    check(C.nvp_rans_push_cdf(self.raw, symbol, cdf, nsym, precision))
end

function Message:pop_cdf(cdf, precision, nsym)
    nsym = nsym or (ffi.sizeof(cdf) / 4 - 1)
    local s = i32()
    check(C.nvp_rans_pop_cdf(self.raw, s, cdf, nsym, precision))
    return s[0]
end

--- value in [0, n), 1 <= n <= 2^24.
function Message:push_uniform(value, n) check(C.nvp_rans_push_uniform(self.raw, value, n)) end

function Message:pop_uniform(n)
    local v = u32()
    check(C.nvp_rans_pop_uniform(self.raw, v, n))
    return v[0]
end

local function dist_id(dist)
    local d = dists[dist]
    if not d then error(("rans: unknown distribution '%s' (gaussian or logistic)"):format(tostring(dist)), 3) end
    return d
end

--- bucket: 0-based of grid = {lo =, width =, n =, precision =} under dist ("gaussian" or
-- "logistic") with mean and scale; the end buckets take the tails.
function Message:push_bucket(bucket, dist, mean, scale, grid)
    check(C.nvp_rans_push_bucket(self.raw, bucket, dist_id(dist), mean, scale, grid.lo, grid.width, grid.n,
        grid.precision))
end

function Message:pop_bucket(dist, mean, scale, grid)
    local b = i32()
    check(C.nvp_rans_pop_bucket(self.raw, b, dist_id(dist), mean, scale, grid.lo, grid.width, grid.n,
        grid.precision))
    return b[0]
end

--- start, freq of a bucket as push_bucket codes it.
function M.bucket_freq(bucket, dist, mean, scale, grid)
    local s, f = u32(), u32()
    check(C.nvp_rans_bucket_freq(s, f, bucket, dist_id(dist), mean, scale, grid.lo, grid.width, grid.n,
        grid.precision))
    return s[0], f[0]
end

--- buckets (int32_t[n]), mean and scale (float[n]): element 0 pushed first; pop_buckets undoes it.
function Message:push_buckets(buckets, mean, scale, n, dist, grid)
    check(C.nvp_rans_push_buckets(self.raw, buckets, mean, scale, n, dist_id(dist), grid.lo, grid.width, grid.n,
        grid.precision))
end

function Message:pop_buckets(buckets, mean, scale, n, dist, grid)
    check(C.nvp_rans_pop_buckets(self.raw, buckets, mean, scale, n, dist_id(dist), grid.lo, grid.width, grid.n,
        grid.precision))
    return buckets
end

--- Grid points k (int64_t[n]: the values k * delta) under N(mean, scale^2) (double[n]) discretised in a
-- window around each mean; grid = {delta =, res =, nbuckets =, precision =} (nvp.h,
-- nvp_rans_push_gaussians). Element 0 pushed first; pop_gaussians undoes it, filling k.
function Message:push_gaussians(k, mean, scale, n, grid)
    check(C.nvp_rans_push_gaussians(self.raw, k, mean, scale, n, grid.delta, grid.res, grid.nbuckets, grid.precision))
end

function Message:pop_gaussians(k, mean, scale, n, grid)
    check(C.nvp_rans_pop_gaussians(self.raw, k, mean, scale, n, grid.delta, grid.res, grid.nbuckets, grid.precision))
    return k
end

--- The fewest words the stack held since it was made, read or reset_low (the words below were never popped).
function Message:low_words() return tonumber(C.nvp_rans_low_words(self.raw)) end

function Message:reset_low() C.nvp_rans_reset_low(self.raw) end

--- The stack's word i (0-based from the bottom) as a number.
function Message:word(i)
    local w = u32()
    check(C.nvp_rans_word(w, self.raw, i))
    return w[0]
end

--- The information the message holds, in bits (fractional; 0 when empty).
function Message:bits() return C.nvp_rans_bits(self.raw) end

function Message:words() return tonumber(C.nvp_rans_words(self.raw)) end

function Message:clone()
    local pp = handle_pp()
    check(C.nvp_rans_clone(pp, self.raw))
    return wrap(pp[0])
end

function Message:equal(other) return C.nvp_rans_equal(self.raw, other.raw) == 1 end

Message.__eq = function(a, b) return C.nvp_rans_equal(a.raw, b.raw) == 1 end

--- The serialised message as a Lua string (magic, words, state, the stack, CRC-32).
function Message:to_bytes()
    local n = C.nvp_rans_size(self.raw)
    local buf = ffi.new("uint8_t[?]", n)
    local size = ffi.new("size_t[1]")
    check(C.nvp_rans_to_bytes(buf, n, size, self.raw))
    return ffi.string(buf, size[0])
end

function Message:__tostring()
    return ("rans message: %d words, %.1f bits"):format(self:words(), self:bits())
end

M.Message = Message
return M
