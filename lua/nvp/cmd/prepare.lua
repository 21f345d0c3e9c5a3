-- nvp prepare RECIPE.lua [data.root=DIR data.cache=DIR ...]: decode a recipe's dataset into its packed
-- caches now (train and held-out splits), instead of on the first training run. Safe to re-run: a
-- current cache is only checked (opened and validated), a stale or missing one is rebuilt.
local cli = require "nvp.cli"
local recipe = require "nvp.recipe"
local dataset = require "nvp.data.dataset"

local M = {}

M.summary = "decode a recipe's dataset into its packed cache: nvp prepare RECIPE.lua [data.root=DIR data.cache=DIR]"

function M.run(args)
    local path = args[1]
    if path == nil or path:find("=") then
        cli.usage_error("prepare needs a recipe: nvp prepare RECIPE.lua [data.root=DIR ...]")
    end
    local words = {}
    for i = 2, #args do words[#words + 1] = args[i] end
    local r = recipe.load(path, cli.parse_overrides(words))
    local started = os.time()
    local ds, err = dataset.open(r.data, function(line) print(line) io.stdout:flush() end)
    if ds == nil then error(err, 0) end
    print(("%s: %d training and %d held-out images of %dx%dx%d ready (%d s)"):format(r.data.dataset, ds.train.count,
        ds.heldout.count, ds.channels, ds.height, ds.width, os.time() - started))
    return 0
end

return M
