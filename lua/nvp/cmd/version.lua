-- nvp version: versions of nvp and LuaJIT, the CPU path, the thread count and OpenBLAS's kernel set.
local ffi = require "ffi"
local nffi = require "nvp.ffi"

local M = {}

M.summary = "print versions, the CPU path (avx512, avx2 or scalar), the thread count and OpenBLAS's kernel set"

function M.run(args)
    local C = nffi.C
    print(("nvp %s (%s, cpu path %s, %d threads, OpenBLAS kernels %s)"):format(ffi.string(C.nvp_version()),
        jit.version, ffi.string(C.nvp_cpu_path()), C.nvp_get_threads(), ffi.string(C.nvp_blas_core())))
    return 0
end

return M
