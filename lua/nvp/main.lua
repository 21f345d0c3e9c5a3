-- nvp.main: what the `nvp` executable runs. Returns a function of the command-line words (arg).
--   nvp SCRIPT.lua [key=value ...]   run a Lua script; the overrides arrive as its `...`
--   nvp VERB [...]                   a built-in verb from lua/nvp/cmd/VERB.lua
--   nvp -e 'lua code'                run a chunk
--   nvp --help | --version
local cli = require "nvp.cli"

local M = {}

local function verb_exists(name)
    if not name:match("^[%a][%w_]*$") then return false end
    return package.searchpath("nvp.cmd." .. name, package.path) ~= nil
end

--- Load and run a script file with the overrides table as `...`. Errors keep the script's file:line.
-- A script that returns a table is a recipe: it is trained, with the overrides applied
-- (`nvp recipes/demo.lua train.minutes=1` is `nvp train recipes/demo.lua train.minutes=1`).
function M.run_script(path, words)
    local overrides = cli.parse_overrides(words)
    local chunk, err = loadfile(path)
    if chunk == nil then
        if not io.open(path, "r") then
            error(("nvp: %s: no such file"):format(path), 0)
        end
        error(err, 0)
    end
    local result = chunk(overrides)
    if type(result) == "table" then
        return require("nvp.cmd.train").run_recipe(path, overrides)
    end
    return result
end

local function main(argv)
    local first = argv[1]
    local rest = {}
    for i = 2, #argv do rest[#rest + 1] = argv[i] end
    if first == nil or first == "--help" or first == "-h" then
        return require("nvp.cmd.help").run({})
    elseif first == "--version" then
        return require("nvp.cmd.version").run({})
    elseif first == "-e" then
        if rest[1] == nil then cli.usage_error("-e needs a chunk of Lua code") end
        local chunk, err = loadstring(rest[1], "=(command line)")
        if chunk == nil then error(err, 0) end
        local words = {}
        for i = 2, #rest do words[#words + 1] = rest[i] end
        chunk(cli.parse_overrides(words))
        return 0
    elseif first:sub(1, 1) == "-" then
        cli.usage_error(("unknown option '%s'"):format(first))
    elseif first:match("%.lua$") then
        local result = M.run_script(first, rest)
        return type(result) == "number" and result or 0
    elseif verb_exists(first) then
        local result = require("nvp.cmd." .. first).run(rest)
        return type(result) == "number" and result or 0
    else
        cli.usage_error(("unknown verb or script '%s'"):format(first))
    end
end

return function(argv)
    return main(argv or {})
end
