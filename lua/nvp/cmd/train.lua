-- nvp train RECIPE.lua [key=value ...]: train a Real NVP as the recipe says (see `nvp help recipe`).
local cli = require "nvp.cli"
local recipe = require "nvp.recipe"
local train = require "nvp.train"

local M = {}

M.summary = "train a recipe: nvp train RECIPE.lua [train.steps=N train.minutes=M run.dir=DIR ...]"

function M.run(args)
    local path = args[1]
    if path == nil or path:find("=") then cli.usage_error("train needs a recipe: nvp train RECIPE.lua [key=value ...]") end
    local words = {}
    for i = 2, #args do words[#words + 1] = args[i] end
    return M.run_recipe(path, cli.parse_overrides(words))
end

--- Train the recipe at `path` with an overrides table; returns the exit code.
function M.run_recipe(path, overrides)
    local r = recipe.load(path, overrides)
    local result = train.run(r)
    return result.interrupted and 130 or 0
end

return M
