-- nvp upgrade CKPT recipe=RECIPE.lua [out=PATH]: rewrite a checkpoint of the first format (which held
-- its architecture only as recipe code, now never run when a file is read) in the current one, the
-- model built from RECIPE.lua (yours: the recipe the run was trained with, e.g. its run directory's
-- recipe.lua) and the checkpoint's command-line overrides. Refused, naming a tensor, when the recipe's
-- model is not the one the tensors fit. out defaults to CKPT itself (written atomically).
local cli = require "nvp.cli"
local run = require "nvp.run"

local M = {}

M.summary = "convert an old checkpoint: nvp upgrade CKPT recipe=RECIPE.lua [out=PATH]"

function M.run(args)
    local positional, o = cli.verb_args("upgrade", args, {recipe = "string", out = "string"})
    local path = positional[1]
    if path == nil or #positional > 1 or o.recipe == nil then
        cli.usage_error("upgrade needs one checkpoint and its recipe: nvp upgrade CKPT recipe=RECIPE.lua [out=PATH]")
    end
    local ok, err = run.upgrade(path, o.recipe, o.out)
    if not ok then error(err, 0) end
    print(("wrote %s (format %s)"):format(o.out or path, run.FORMAT))
    return 0
end

return M
