-- nvp version: versions of nvp and LuaJIT, the CPU path and the thread count.
local ffi = require "ffi"
local nffi = require "nvp.ffi"

local M = {}

M.summary = "print versions, the CPU path (avx2 or scalar) and the thread count"

function M.run(args)
    local C = nffi.C
    print(("nvp %s (%s, cpu path %s, %d threads)"):format(ffi.string(C.nvp_version()), jit.version,
        ffi.string(C.nvp_cpu_path()), C.nvp_get_threads()))
    return 0
end

return M
