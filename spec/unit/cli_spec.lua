local cli = require "nvp.cli"

describe("cli.parse_overrides", function()
    it("types numbers, booleans and strings", function()
        local o = cli.parse_overrides{"a=1", "b=3e-4", "c=true", "d=false", "e=hello", "f=-2"}
        assert.are.same({a = 1, b = 3e-4, c = true, d = false, e = "hello", f = -2}, o)
    end)

    it("nests dotted keys", function()
        local o = cli.parse_overrides{"train.lr=3e-4", "train.steps=10", "data.root=/tmp/x"}
        assert.are.same({train = {lr = 3e-4, steps = 10}, data = {root = "/tmp/x"}}, o)
    end)

    it("keeps a value with '=' inside", function()
        assert.are.same({name = "a=b"}, cli.parse_overrides{"name=a=b"})
    end)

    it("rejects a word that is not key=value as a usage error", function()
        local ok, err = pcall(cli.parse_overrides, {"oops"})
        assert.is_false(ok)
        assert.is_true(err.usage)
        assert.matches("expected key=value, got 'oops'", err.message, 1, true)
    end)

    it("rejects a key that is both a value and a table", function()
        local ok, err = pcall(cli.parse_overrides, {"a=1", "a.b=2"})
        assert.is_false(ok)
        assert.matches("key 'a.b' is both a value and a table", err.message, 1, true)
    end)
end)
