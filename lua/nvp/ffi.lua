-- nvp.ffi: the engine's C API, declared once from engine/include/nvp.h (via the generated
-- nvp.nvp_h module). Inside the `nvp` host the symbols are already linked in (ffi.C); under a
-- plain `luajit` or `busted` the shared library is loaded instead (NVP_LIB, else "nvp").
--
--   local nffi = require "nvp.ffi"
--   local C = nffi.C            -- cache the namespace, not individual functions
--   nffi.check(C.nvp_fill(p, 0, n))   -- raises the engine's message on failure
local ffi = require "ffi"

local M = {}

ffi.cdef(require "nvp.nvp_h")

local function host_namespace()
    local ok = pcall(function() return ffi.C.nvp_version end)
    if ok then return ffi.C end
    return nil
end

M.C = host_namespace() or ffi.load(os.getenv("NVP_LIB") or "nvp")
M.C.nvp_init()

local C = M.C

--- The engine's last error message on this thread.
function M.last_error()
    return ffi.string(C.nvp_last_error())
end

--- Raise the engine's message if `status` is not NVP_OK; `level` as in error() (default 2: the
-- caller of the function that called check).
function M.check(status, level)
    if status ~= 0 then
        error(M.last_error(), (level or 2) + 1)
    end
end

--- For recoverable failures (I/O): nil, message instead of an error.
function M.try(status)
    if status ~= 0 then return nil, M.last_error() end
    return true
end

return M
