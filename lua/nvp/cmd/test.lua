-- nvp test: run busted specs inside the nvp host, so specs exercise the same LuaJIT and FFI as users.
--   nvp test spec/unit [busted options]
local M = {}

M.summary = "run busted specs (nvp test spec/ [busted options])"

function M.run(args)
    local ok = pcall(require, "busted.runner")
    if not ok then
        error("nvp test: busted is not installed (Debian package lua-busted)", 0)
    end
    -- busted reads the global `arg` like the standalone interpreter's.
    local words = {[0] = "nvp test"}
    for i, a in ipairs(args) do words[i] = a end
    arg = words
    -- Called from a chunk with no file name, busted exits the process itself (os.exit) on
    -- failure instead of raising a bare error(); on success it returns here.
    local run = loadstring("require('busted.runner')({standalone = false})", "=nvp test")
    run()
    return 0
end

return M
