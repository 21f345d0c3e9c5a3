-- nvp viz CKPT [figure=all|examples|samples|larger|infoloss|manifold out=DIR seed=0 height=H width=W]:
-- write the visualization figures of a checkpoint (nvp.viz.figures) into its run directory or out=.
-- The manifold animation: frames=40 delay=10 (centiseconds); colour models write an animated WebP
-- (quality=90, or quality=-1 for lossless), gray ones a GIF.
local cli = require "nvp.cli"
local figures = require "nvp.viz.figures"

local M = {}

M.summary = "write figures: nvp viz CKPT [figure=all|examples|samples|larger|infoloss|manifold out=DIR seed=0]"

local KEYS = {figure = "string", out = "string", seed = "number", height = "number", width = "number",
              temperature = "number", frames = "number", delay = "number", quality = "number"}

function M.run(args)
    local positional, o = cli.verb_args("viz", args, KEYS)
    local path = positional[1]
    if path == nil or #positional > 1 then
        cli.usage_error("viz needs one checkpoint: nvp viz CKPT [figure=all|" .. table.concat(figures.NAMES, "|") .. " out=DIR]")
    end
    local which = o.figure or "all"
    if which ~= "all" and figures.FILES[which] == nil then
        cli.usage_error(("viz: unknown figure '%s' (valid: all, %s)"):format(which, table.concat(figures.NAMES, ", ")))
    end
    local ctx, err = figures.open(path, {out = o.out})
    if ctx == nil then error(err, 0) end
    local written, failed = figures.run(ctx, which, o)
    for _, p in ipairs(written) do print("wrote " .. p) end
    local status = 0
    for _, name in ipairs(figures.NAMES) do
        if failed[name] then
            io.stderr:write(("nvp viz: %s: %s\n"):format(name, failed[name]))
            status = 1
        end
    end
    return status
end

return M
