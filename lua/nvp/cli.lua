-- nvp.cli: command-line words -> a typed, nested override table.
--   parse_overrides{"train.lr=3e-4", "name=x", "flip=true"}
--     --> {train = {lr = 0.0003}, name = "x", flip = true}
local M = {}

--- Type a value the way a recipe author would expect: numbers, booleans, nil-free strings.
function M.typed(value)
    if value == "true" then return true end
    if value == "false" then return false end
    local n = tonumber(value)
    if n ~= nil and value:match("^%s*[-+]?[%d.]") then return n end
    return value
end

--- Raise a usage error (the host exits 2 and prints the message).
function M.usage_error(message)
    error({usage = true, message = "nvp: " .. message .. " (try nvp --help)"}, 0)
end

--- Parse key=value words into a nested table; dotted keys nest. Non key=value words are a usage error.
function M.parse_overrides(words)
    local out = {}
    for _, word in ipairs(words) do
        local key, value = word:match("^([%a_][%w_%.]*)=(.*)$")
        if key == nil then
            M.usage_error(("expected key=value, got '%s'"):format(word))
        end
        local node, parts = out, {}
        for part in key:gmatch("[^.]+") do parts[#parts + 1] = part end
        if key:find("%.%.") or key:sub(-1) == "." then
            M.usage_error(("bad key '%s'"):format(key))
        end
        for i = 1, #parts - 1 do
            local p = parts[i]
            if node[p] == nil then node[p] = {} end
            if type(node[p]) ~= "table" then
                M.usage_error(("key '%s' is both a value and a table"):format(key))
            end
            node = node[p]
        end
        local last = parts[#parts]
        if type(node[last]) == "table" then
            M.usage_error(("key '%s' is both a value and a table"):format(key))
        end
        node[last] = M.typed(value)
    end
    return out
end

--- A verb's command line: positional words, then key=value options checked against `keys`
-- (name -> "number" | "string" | "boolean", or alternatives: "number|string"). Unknown keys and wrong types are usage errors naming
-- the verb, the key and what is valid. Returns the positional words and the options table.
function M.verb_args(verb, args, keys)
    local positional, words = {}, {}
    for _, a in ipairs(args) do
        if a:find("=") then words[#words + 1] = a else positional[#positional + 1] = a end
    end
    local opts = M.parse_overrides(words)
    local names = {}
    for k in pairs(keys) do names[#names + 1] = k end
    table.sort(names)
    for k, v in pairs(opts) do
        if keys[k] == nil then
            M.usage_error(("%s: unknown key '%s' (valid: %s)"):format(verb, k, table.concat(names, ", ")))
        end
        if not ("|" .. keys[k] .. "|"):find("|" .. type(v) .. "|", 1, true) then
            M.usage_error(("%s: '%s' must be a %s"):format(verb, k, keys[k]:gsub("|", " or ")))
        end
    end
    return positional, opts
end

return M
