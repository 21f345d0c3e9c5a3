-- nvp.rng: a seedable random stream over the engine's counter-based generator (Philox4x32-10).
-- Its whole state is (seed, counter): every draw of n values uses counters [counter, counter + n)
-- and advances by n, so a stream is saved and resumed exactly, whatever the thread count.
--
--   local Rng = require "nvp.rng"
--   local g = Rng.new(42)
--   g:normal(t)          -- fill tensor t with N(0, 1)
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C, check = nffi.C, nffi.check

local Rng = {}
Rng.__index = Rng

local function as_u64(v, what)
    if type(v) == "number" then
        if v < 0 or v ~= math.floor(v) or v >= 2 ^ 53 then
            error(("rng: %s must be an integer in [0, 2^53), got %s"):format(what, tostring(v)), 3)
        end
    end
    return ffi.new("uint64_t", v)
end

function Rng.new(seed)
    return setmetatable({seed = as_u64(seed or 0, "seed"), counter = ffi.new("uint64_t", 0)}, Rng)
end

--- Reserve n counters; returns the first.
function Rng:take(n)
    local first = self.counter
    self.counter = self.counter + n
    return first
end

--- Fill tensor t with U[lo, hi) (default [0, 1)).
function Rng:uniform(t, lo, hi)
    check(C.nvp_rng_uniform(t.data, self.seed, self:take(t.numel), t.numel, lo or 0, hi or 1))
    return t
end

--- Fill tensor t with N(mean, std^2) (default N(0, 1)).
function Rng:normal(t, mean, std)
    check(C.nvp_rng_normal(t.data, self.seed, self:take(t.numel), t.numel, mean or 0, std or 1))
    return t
end

--- A Lua number in [0, 1) (for shuffles and coin flips), from the same stream.
function Rng:random()
    local buf = ffi.new("float[1]")
    check(C.nvp_rng_uniform(buf, self.seed, self:take(1), 1, 0, 1))
    return buf[0]
end

--- {seed = "...", counter = "..."} as decimal strings (exact for all 64 bits).
function Rng:state()
    return {seed = (tostring(self.seed):gsub("ULL$", "")), counter = (tostring(self.counter):gsub("ULL$", ""))}
end

function Rng:set_state(s)
    self.seed = Rng.parse_u64(s.seed)
    self.counter = Rng.parse_u64(s.counter)
end

--- Decimal string -> uint64_t, exactly.
function Rng.parse_u64(str)
    str = tostring(str)
    if not str:match("^%d+$") then error(("rng: '%s' is not an unsigned integer"):format(str), 2) end
    local v = ffi.new("uint64_t", 0)
    for digit in str:gmatch("%d") do v = v * 10 + tonumber(digit) end
    return v
end

function Rng:__tostring()
    local s = self:state()
    return ("Rng(seed=%s, counter=%s)"):format(s.seed, s.counter)
end

return Rng
