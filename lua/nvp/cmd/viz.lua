-- nvp viz CKPT [figure=all|examples|samples|larger|infoloss|manifold out=DIR seed=0 height=H width=W]:
-- write the visualization figures of a checkpoint (nvp.viz.figures) into its run directory or out=.
local cli = require "nvp.cli"
local figures = require "nvp.viz.figures"

local M = {}

M.summary = "write figures: nvp viz CKPT [figure=all|examples|samples|larger|infoloss|manifold out=DIR seed=0]"

local KEYS = {figure = "string", out = "string", seed = "number", height = "number", width = "number",
              temperature = "number", frames = "number"}

function M.run(args)
    local path = args[1]
    if path == nil or path:find("=") then
        cli.usage_error("viz needs a checkpoint: nvp viz CKPT [figure=all|" .. table.concat(figures.NAMES, "|") .. " out=DIR]")
    end
    local words = {}
    for i = 2, #args do words[#words + 1] = args[i] end
    local o = cli.parse_overrides(words)
    local names = {}
    for k in pairs(KEYS) do names[#names + 1] = k end
    table.sort(names)
    for k, v in pairs(o) do
        if KEYS[k] == nil then cli.usage_error(("viz: unknown key '%s' (valid: %s)"):format(k, table.concat(names, ", "))) end
        if type(v) ~= KEYS[k] then cli.usage_error(("viz: '%s' must be a %s"):format(k, KEYS[k])) end
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
