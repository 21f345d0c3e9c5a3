-- nvp.json: a small, strict JSON (RFC 8259) encoder and decoder, for checkpoint headers and run logs.
--
--   local json = require "nvp.json"
--   local s = json.encode{lr = 3e-4, shape = {64, 3, 32, 32}}   -- '{"lr":0.00029999999999999997,...}'
--   local v, err = json.decode(s)                               -- nil, "json: at byte 7 (line 1, column 7): ..."
--
-- Encoding is deterministic: object keys are sorted, integers are written plainly (|n| < 2^53) and
-- other numbers with the fewest of 15-17 significant digits that round-trip exactly (0.297, not
-- 0.29699999999999999). A Lua table is an array when its keys are exactly
-- 1..n (n >= 1), an object when every key is a string; an empty table is an object unless made with
-- json.array(). NaN, infinities, mixed or sparse tables and other Lua types are errors.
-- Decoding is strict: no trailing commas, comments, leading zeros, control characters or invalid
-- UTF-8 in strings, lone surrogates, duplicate object keys or trailing text; nesting deeper than 512
-- is refused. null decodes to json.null; arrays and objects get the metatables json.array_mt and
-- json.object_mt, so a decoded value encodes back to the same text.
-- Why ours and not lua-cjson or cJSON (with measurements): docs/dependencies.md.
local M = {}

M.null = setmetatable({}, {__tostring = function() return "null" end})
M.array_mt = {__name = "json.array"}
M.object_mt = {__name = "json.object"}

local MAX_DEPTH = 512

local byte, sub, find, char = string.byte, string.sub, string.find, string.char

--- Mark a table as a JSON array (so an empty one encodes as []).
function M.array(t) return setmetatable(t or {}, M.array_mt) end
--- Mark a table as a JSON object.
function M.object(t) return setmetatable(t or {}, M.object_mt) end

-- The position of the first invalid UTF-8 sequence in s[i..j] (overlongs, surrogates and code points
-- past U+10FFFF are invalid), or nil.
local function bad_utf8(s, i, j)
    while i <= j do
        local c = byte(s, i)
        if c < 0x80 then
            i = i + 1
        else
            local n, lo, hi
            if c >= 0xC2 and c <= 0xDF then
                n, lo, hi = 1, 0x80, 0xBF
            elseif c >= 0xE0 and c <= 0xEF then
                n = 2
                lo = c == 0xE0 and 0xA0 or 0x80
                hi = c == 0xED and 0x9F or 0xBF
            elseif c >= 0xF0 and c <= 0xF4 then
                n = 3
                lo = c == 0xF0 and 0x90 or 0x80
                hi = c == 0xF4 and 0x8F or 0xBF
            else
                return i
            end
            for k = 1, n do
                local b = byte(s, i + k)
                if b == nil or i + k > j or b < (k == 1 and lo or 0x80) or b > (k == 1 and hi or 0xBF) then
                    return i
                end
            end
            i = i + n + 1
        end
    end
    return nil
end

-- ---- encoding -------------------------------------------------------------------------------------

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                 ["\r"] = "\\r", ["\t"] = "\\t"}

local function encode_string(s, where)
    if bad_utf8(s, 1, #s) then
        error(("json.encode: %s is not valid UTF-8"):format(where), 0)
    end
    return '"' .. s:gsub('[%c"\\]', function(c)
        return escapes[c] or ("\\u%04x"):format(c:byte())
    end) .. '"'
end

local function encode_number(n, where)
    if n ~= n or n == math.huge or n == -math.huge then
        error(("json.encode: %s is %s, which JSON cannot represent"):format(where, tostring(n)), 0)
    end
    if n == 0 and 1 / n < 0 then return "-0" end
    if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return ("%d"):format(n) end
    -- the shortest of 15, 16, 17 significant digits that reads back as the same double
    for digits = 15, 16 do
        local text = ("%." .. digits .. "g"):format(n)
        if tonumber(text) == n then return text end
    end
    return ("%.17g"):format(n)
end

-- "array", "object" or raises
local function table_kind(t, where)
    local mt = getmetatable(t)
    if mt == M.array_mt then return "array" end
    if mt == M.object_mt then return "object" end
    local n, strings, others = #t, 0, 0
    for k in pairs(t) do
        if type(k) == "string" then
            strings = strings + 1
        elseif type(k) == "number" and k >= 1 and k <= n and k == math.floor(k) then
            others = others + 1
        else
            error(("json.encode: %s has a key %s of type %s (arrays need keys 1..n, objects strings)")
                :format(where, tostring(k), type(k)), 0)
        end
    end
    if strings > 0 and others > 0 then
        error(("json.encode: %s mixes array and object keys"):format(where), 0)
    end
    if others > 0 then
        if others ~= n then error(("json.encode: %s is a sparse array"):format(where), 0) end
        return "array"
    end
    return "object"
end

local function encode_value(v, out, where, depth)
    local tv = type(v)
    if v == M.null or tv == "nil" then
        out[#out + 1] = "null"
    elseif tv == "boolean" then
        out[#out + 1] = v and "true" or "false"
    elseif tv == "number" then
        out[#out + 1] = encode_number(v, where)
    elseif tv == "string" then
        out[#out + 1] = encode_string(v, where)
    elseif tv == "table" then
        if depth > MAX_DEPTH then
            error(("json.encode: %s nests deeper than %d (a cycle?)"):format(where, MAX_DEPTH), 0)
        end
        if table_kind(v, where) == "array" then
            out[#out + 1] = "["
            for i = 1, #v do
                if i > 1 then out[#out + 1] = "," end
                encode_value(v[i], out, ("%s[%d]"):format(where, i), depth + 1)
            end
            out[#out + 1] = "]"
        else
            local keys = {}
            for k in pairs(v) do
                if type(k) ~= "string" then
                    error(("json.encode: %s has a non-string key %s"):format(where, tostring(k)), 0)
                end
                keys[#keys + 1] = k
            end
            table.sort(keys)
            out[#out + 1] = "{"
            for i, k in ipairs(keys) do
                if i > 1 then out[#out + 1] = "," end
                out[#out + 1] = encode_string(k, where .. " key")
                out[#out + 1] = ":"
                encode_value(v[k], out, ("%s.%s"):format(where, k), depth + 1)
            end
            out[#out + 1] = "}"
        end
    else
        error(("json.encode: %s is a %s, which JSON cannot represent"):format(where, tv), 0)
    end
end

--- The JSON text of v (compact, keys sorted). Raises on values JSON cannot represent.
function M.encode(v)
    local out = {}
    encode_value(v, out, "value", 0)
    return table.concat(out)
end

-- ---- decoding -------------------------------------------------------------------------------------

-- A decode error: a table carried through error() so the position can be attached once.
local Failure = {}

local function fail(pos, reason)
    error(setmetatable({pos = pos, reason = reason}, Failure), 0)
end

local function skip_space(s, pos)
    return find(s, "[^ \t\r\n]", pos) or #s + 1
end

local function utf8_encode(cp)
    if cp < 0x80 then return char(cp) end
    if cp < 0x800 then return char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40) end
    if cp < 0x10000 then
        return char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
    end
    return char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
        0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local escape_chars = {[34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f", [110] = "\n",
                      [114] = "\r", [116] = "\t"}

local function hex4(s, pos)
    local h = sub(s, pos, pos + 3)
    if not h:match("^%x%x%x%x$") then fail(pos, "\\u needs four hex digits") end
    return tonumber(h, 16)
end

-- s[pos] is the opening quote; returns the string and the position after the closing quote.
local function decode_string(s, pos)
    local parts = {}
    local i = pos + 1
    while true do
        local j = find(s, '["\\%c]', i)
        if j == nil then fail(pos, "unterminated string") end
        if j > i then
            local bad = bad_utf8(s, i, j - 1)
            if bad then fail(bad, "invalid UTF-8 in string") end
            parts[#parts + 1] = sub(s, i, j - 1)
        end
        local c = byte(s, j)
        if c == 34 then
            return table.concat(parts), j + 1
        elseif c == 92 then
            local e = byte(s, j + 1)
            if e == 117 then
                local cp = hex4(s, j + 2)
                local after = j + 6
                if cp >= 0xD800 and cp <= 0xDBFF then
                    if sub(s, after, after + 1) ~= "\\u" then fail(j, "lone high surrogate in \\u escape") end
                    local lo = hex4(s, after + 2)
                    if lo < 0xDC00 or lo > 0xDFFF then fail(after, "high surrogate not followed by a low one") end
                    cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
                    after = after + 6
                elseif cp >= 0xDC00 and cp <= 0xDFFF then
                    fail(j, "lone low surrogate in \\u escape")
                end
                parts[#parts + 1] = utf8_encode(cp)
                i = after
            elseif e ~= nil and escape_chars[e] then
                parts[#parts + 1] = escape_chars[e]
                i = j + 2
            else
                fail(j, "invalid escape in string")
            end
        elseif c == 127 then
            -- DEL is %c to Lua but allowed unescaped by JSON
            parts[#parts + 1] = "\127"
            i = j + 1
        else
            fail(j, "control character in string (must be escaped)")
        end
    end
end

local function decode_number(s, pos)
    local text = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    local ok = text and (text:match("^-?0$") or text:match("^-?[1-9]%d*$") or
        text:match("^-?0%.%d+$") or text:match("^-?[1-9]%d*%.%d+$") or
        text:match("^-?0[eE][-+]?%d+$") or text:match("^-?[1-9]%d*[eE][-+]?%d+$") or
        text:match("^-?0%.%d+[eE][-+]?%d+$") or text:match("^-?[1-9]%d*%.%d+[eE][-+]?%d+$"))
    if not ok then fail(pos, "malformed number") end
    local n = tonumber(text)
    -- LuaJIT's tonumber gives nil (not inf) for some huge exponents ("1e006684044526812543203")
    if n == nil or n == math.huge or n == -math.huge then fail(pos, "number out of range") end
    return n, pos + #text
end

local decode_value

local function decode_array(s, pos, depth)
    local arr = setmetatable({}, M.array_mt)
    pos = skip_space(s, pos + 1)
    if byte(s, pos) == 93 then return arr, pos + 1 end
    while true do
        arr[#arr + 1], pos = decode_value(s, pos, depth)
        pos = skip_space(s, pos)
        local c = byte(s, pos)
        if c == 93 then return arr, pos + 1 end
        if c ~= 44 then fail(pos, "expected ',' or ']' in array") end
        pos = skip_space(s, pos + 1)
    end
end

local function decode_object(s, pos, depth)
    local obj = setmetatable({}, M.object_mt)
    pos = skip_space(s, pos + 1)
    if byte(s, pos) == 125 then return obj, pos + 1 end
    while true do
        if byte(s, pos) ~= 34 then fail(pos, "expected a string key in object") end
        local key_pos = pos
        local key
        key, pos = decode_string(s, pos)
        if rawget(obj, key) ~= nil then fail(key_pos, ("duplicate key \"%s\" in object"):format(key)) end
        pos = skip_space(s, pos)
        if byte(s, pos) ~= 58 then fail(pos, "expected ':' after object key") end
        pos = skip_space(s, pos + 1)
        obj[key], pos = decode_value(s, pos, depth)
        pos = skip_space(s, pos)
        local c = byte(s, pos)
        if c == 125 then return obj, pos + 1 end
        if c ~= 44 then fail(pos, "expected ',' or '}' in object") end
        pos = skip_space(s, pos + 1)
    end
end

local literals = {t = {"true", true}, f = {"false", false}, n = {"null", M.null}}

function decode_value(s, pos, depth)
    local c = byte(s, pos)
    if c == nil then fail(pos, "unexpected end of input") end
    if c == 123 or c == 91 then
        if depth >= MAX_DEPTH then fail(pos, ("nesting deeper than %d"):format(MAX_DEPTH)) end
        if c == 123 then return decode_object(s, pos, depth + 1) end
        return decode_array(s, pos, depth + 1)
    end
    if c == 34 then return decode_string(s, pos) end
    if c == 45 or (c >= 48 and c <= 57) then return decode_number(s, pos) end
    local lit = literals[char(c)]
    if lit and sub(s, pos, pos + #lit[1] - 1) == lit[1] then return lit[2], pos + #lit[1] end
    fail(pos, "unexpected character '" .. (c >= 32 and c < 127 and char(c) or ("\\x%02x"):format(c)) .. "'")
end

--- The value of the JSON text s, or nil, "json: at byte B (line L, column C): reason".
function M.decode(s)
    if type(s) ~= "string" then error("json.decode: expected a string, got " .. type(s), 2) end
    local ok, v, pos = pcall(function()
        local value, after = decode_value(s, skip_space(s, 1), 0)
        after = skip_space(s, after)
        if after <= #s then fail(after, "trailing text after the value") end
        return value, after
    end)
    if ok then return v end
    if getmetatable(v) ~= Failure then error(v, 0) end
    pos = v.pos
    local before = sub(s, 1, pos - 1)
    local line = select(2, before:gsub("\n", "")) + 1
    local column = pos - (before:match(".*\n()") or 1) + 1
    return nil, ("json: at byte %d (line %d, column %d): %s"):format(pos, line, column, v.reason)
end

return M
