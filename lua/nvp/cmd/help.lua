-- nvp help: usage and the list of verbs.
local M = {}

M.summary = "show this help"

local USAGE = [[
nvp -- Real NVP normalizing flows on images: a C engine driven by Lua recipes.

usage:
  nvp SCRIPT.lua [key=value ...]   run a Lua script or recipe; dotted keys nest (train.lr=3e-4)
  nvp VERB [args ...]              run a built-in verb (below)
  nvp -e 'lua code' [key=value]    run a chunk of Lua
  nvp --help | --version

environment:
  NVP_THREADS=N        threads for the engine and OpenBLAS (default: all online CPUs)
  NVP_FORCE_SCALAR=1   use the scalar reference kernels even where AVX2 is available
  NVP_TRACEBACK=1      print a Lua traceback with errors

more: nvp help layers (the layer library), nvp help recipe (every recipe key)

verbs:]]

function M.run(args)
    if args and args[1] == "layers" then
        print("The layers a recipe composes (model = function(nn, dims) return nn.Sequence{...} end):\n")
        print(require("nvp.layers.registry").describe())
        return 0
    elseif args and args[1] == "recipe" then
        print(require("nvp.recipe").describe())
        return 0
    end
    local lines = {USAGE}
    local verbs = {}
    local dir = NVP_LUA_DIR and (NVP_LUA_DIR .. "/nvp/cmd") or nil
    local ok, lfs = pcall(require, "lfs")
    if ok and dir then
        for file in lfs.dir(dir) do
            local name = file:match("^([%w_]+)%.lua$")
            if name then verbs[#verbs + 1] = name end
        end
    end
    table.sort(verbs)
    for _, name in ipairs(verbs) do
        local mod = require("nvp.cmd." .. name)
        lines[#lines + 1] = ("  %-12s %s"):format(name, mod.summary or "")
    end
    print(table.concat(lines, "\n"))
    return 0
end

return M
