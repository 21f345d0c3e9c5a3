-- nvp.json: round trips, deterministic encoding, strict decoding with positioned errors.
local json = require "nvp.json"

describe("json", function()
    it("encodes deterministically: sorted keys, plain integers, the shortest exact digits otherwise", function()
        local v = {zeta = 1, alpha = {1, 2.5, -3}, mid = {b = true, a = false}, s = "x", n = json.null,
                   e = {}, ea = json.array()}
        assert.are.equal('{"alpha":[1,2.5,-3],"e":{},"ea":[],"mid":{"a":false,"b":true},"n":null,"s":"x","zeta":1}',
            json.encode(v))
        assert.are.equal("0.1", json.encode(0.1))
        assert.are.equal("0.30000000000000004", json.encode(0.1 + 0.2))   -- 17 digits needed
        assert.are.equal(0.1 + 0.2, json.decode(json.encode(0.1 + 0.2)))
        assert.are.equal("4503599627370496", json.encode(2 ^ 52))
        assert.are.equal("18014398509481984", json.encode(2 ^ 54))
        assert.are.equal("1.152921504606847e+18", json.encode(2 ^ 60))
        assert.are.equal("-0", json.encode(-0.0))
        assert.are.equal("3e-300", json.encode(3e-300))
    end)

    it("escapes strings and round-trips them, including non-ASCII", function()
        local s = 'quote " backslash \\ slash / nl \n tab \t cr \r bell \7 del \127 é 😀'
        local text = json.encode(s)
        assert.are.equal('"quote \\" backslash \\\\ slash / nl \\n tab \\t cr \\r bell \\u0007 '
            .. 'del \\u007f é 😀"', text)
        assert.are.equal(s, json.decode(text))
    end)

    it("decodes \\u escapes, surrogate pairs and all value kinds", function()
        local v = assert(json.decode(' { "a" : [ 1 , -0.5e2 , 1E+2 , true , false , null ] ,\n '
            .. '"b" : "\\u00e9\\u20ac\\ud83d\\ude00\\/" } '))
        assert.are.same({1, -50, 100, true, false}, {v.a[1], v.a[2], v.a[3], v.a[4], v.a[5]})
        assert.are.equal(json.null, v.a[6])
        assert.are.equal("é€😀/", v.b)
        assert.are.equal(json.array_mt, getmetatable(v.a))
        assert.are.equal(json.object_mt, getmetatable(v))
    end)

    it("round-trips values exactly (text -> value -> text and value -> text -> value)", function()
        local texts = {'{"a":{},"b":[],"c":[[],{}],"d":null}', '[1,2,3,{"x":"y"}]', '"s"', "12", "-1.5", "true"}
        for _, t in ipairs(texts) do assert.are.equal(t, json.encode(assert(json.decode(t)))) end
        local rng = spec_rng(7)
        local buf = require("nvp.tensor").empty{200}
        rng:normal(buf)
        for i = 0, 199 do
            local x = buf.data[i] * 10 ^ (i % 40 - 20)
            assert.are.equal(x, json.decode(json.encode(x)))
        end
        local nested = {name = "run", lr = 3e-4, layers = {{kind = "coupling", hidden = 64}, {kind = "squeeze"}}}
        assert.are.same(nested, json.decode(json.encode(nested)))
    end)

    it("gives the position and reason of decode errors", function()
        local cases = {
            {'{"a":1,}', "at byte 8 (line 1, column 8): expected a string key in object"},
            {'[1,]', "at byte 4 (line 1, column 4): unexpected character ']'"},
            {'{"a":1,\n "a":2}', 'at byte 10 (line 2, column 2): duplicate key "a" in object'},
            {'01', "at byte 1 (line 1, column 1): malformed number"},
            {'1.', "at byte 1 (line 1, column 1): malformed number"},
            {'[1] x', "at byte 5 (line 1, column 5): trailing text after the value"},
            {'"abc', "at byte 1 (line 1, column 1): unterminated string"},
            {'"a\tb"', "at byte 3 (line 1, column 3): control character in string (must be escaped)"},
            {'"\\x"', "at byte 2 (line 1, column 2): invalid escape in string"},
            {'"\\u12"', "at byte 4 (line 1, column 4): \\u needs four hex digits"},
            {'"\\ud800"', "at byte 2 (line 1, column 2): lone high surrogate in \\u escape"},
            {'"\\udc00"', "at byte 2 (line 1, column 2): lone low surrogate in \\u escape"},
            {'"\255"', "at byte 2 (line 1, column 2): invalid UTF-8 in string"},
            {'"\192\128"', "at byte 2 (line 1, column 2): invalid UTF-8 in string"},
            {'{"a" 1}', "at byte 6 (line 1, column 6): expected ':' after object key"},
            {'[1 2]', "at byte 4 (line 1, column 4): expected ',' or ']' in array"},
            {'tru', "at byte 1 (line 1, column 1): unexpected character 't'"},
            {'', "at byte 1 (line 1, column 1): unexpected end of input"},
            {'// c\n1', "at byte 1 (line 1, column 1): unexpected character '/'"},
            {'1e999', "at byte 1 (line 1, column 1): number out of range"},
            -- LuaJIT's tonumber gives nil, not inf, for this one (found by fuzz_safetensors)
            {'1111111111111111111111110000000000e006684044526812543203', "at byte 1 (line 1, column 1): number out of range"},
            {("["):rep(600), "at byte 513 (line 1, column 513): nesting deeper than 512"},
        }
        for _, c in ipairs(cases) do
            local v, err = json.decode(c[1])
            assert.is_nil(v, c[1])
            assert.are.equal("json: " .. c[2], err)
        end
    end)

    it("refuses to encode what JSON cannot represent", function()
        assert.matches("value.x is nan", error_of(json.encode, {x = 0 / 0}), 1, true)
        assert.matches("value[2] is inf", error_of(json.encode, {1, math.huge}), 1, true)
        assert.matches("value mixes array and object keys", error_of(json.encode, {1, a = 2}), 1, true)
        assert.matches("has a key 3 of type number", error_of(json.encode, {[1] = 1, [3] = 3}), 1, true)
        assert.matches("value.f is a function", error_of(json.encode, {f = print}), 1, true)
        assert.matches("value is not valid UTF-8", error_of(json.encode, "\255"), 1, true)
        local cycle = {}
        cycle.self = cycle
        assert.matches("nests deeper than 512", error_of(json.encode, cycle), 1, true)
    end)
end)
