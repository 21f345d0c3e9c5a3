-- nvp.clock: a monotonic wall clock in seconds (os.clock is CPU time, wrong with threads).
local ffi = require "ffi"

pcall(ffi.cdef, [[
typedef struct nvp_timespec { long tv_sec; long tv_nsec; } nvp_timespec;
int clock_gettime(int clk_id, nvp_timespec *tp);
]])

local ts = ffi.new("nvp_timespec")
local CLOCK_MONOTONIC = 1

return function()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
