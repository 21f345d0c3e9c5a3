-- nvp page RUN_DIR... [out=FILE force=false generate=true]: the self-contained results page (one row
-- per run, nvp.viz.page), making the figures a run lacks first. Prints the page's path.
local cli = require "nvp.cli"
local fs = require "nvp.fs"
local page = require "nvp.viz.page"

local M = {}

M.summary = "results page: nvp page RUN_DIR... [out=FILE] (default RUN_DIR/index.html for one run)"

local KEYS = {out = "string", force = "boolean", generate = "boolean", seed = "number", title = "string"}

function M.run(args)
    local dirs, o = cli.verb_args("page", args, KEYS)
    if #dirs == 0 then cli.usage_error("page needs run directories: nvp page RUN_DIR... [out=FILE]") end
    local out = o.out
    if out == nil then
        if #dirs > 1 then cli.usage_error("page: with several run directories, say where the page goes: out=FILE") end
        out = dirs[1]:gsub("/+$", "") .. "/index.html"
    elseif fs.is_dir(out) or out:sub(-1) == "/" then
        out = out:gsub("/+$", "") .. "/index.html"
    end
    local path, err = page.write(dirs, out, {force = o.force, generate = o.generate, seed = o.seed, title = o.title,
        log = function(line) io.stderr:write(line, "\n") end})
    if path == nil then error(err, 0) end
    print(path)
    return 0
end

return M
