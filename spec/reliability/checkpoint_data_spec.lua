-- A checkpoint's model is data: nvp.model (the layer tree as JSON) and nvp.settings (the recipe's
-- settings as JSON) rebuild it; the recipe text travels for the record and is never run, whatever it
-- holds. Bad data is refused in one line naming the file and the field, before any large allocation;
-- a checkpoint of the first format (recipe code only) is refused with the command that converts it.
local json = require "nvp.json"
local fs = require "nvp.fs"
local run = require "nvp.run"
local checkpoint = require "nvp.checkpoint"
local recipe = require "nvp.recipe"
local train = require "nvp.train"
local evaluate = require "nvp.evaluate"
local clock = require "nvp.clock"
local fixture = dofile("spec/reliability/fixture.lua")

local function assert_one_line(path, message)
    assert.is_string(message)
    assert.is_nil(message:find("\n"), message)
    assert.truthy(message:find(path, 1, true), ("'%s' does not name %s"):format(message, path))
end

describe("a checkpoint's model is data", function()
    local dir, good, r
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
        r = recipe.from_text(fixture.RECIPE, "rel.lua", {data = {root = dir}, run = {dir = dir .. "/run"},
                                                         train = {steps = 2}})
        train.run(r, {quiet = true})
        good = dir .. "/run/last.safetensors"
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    -- good's tensors and metadata with some metadata replaced
    local function with_meta(name, changes)
        local tensors, meta = assert(checkpoint.load(good))
        for k, v in pairs(changes) do meta[k] = v end
        local path = dir .. "/" .. name .. ".safetensors"
        assert(checkpoint.save(path, tensors, meta))
        return path
    end

    local function heldout_bpd(ck)
        local ds = require("nvp.data.dataset").open(ck.recipe.data)
        return evaluate.bits_per_dim(ck.model, ds.heldout, {batch = 32, seed = 0})
    end

    it("holds the layer tree and the settings as JSON, and rebuilds the model from them", function()
        local _, meta = assert(checkpoint.load(good))
        local arch = json.decode(meta["nvp.model"])
        assert.are.equal("Sequence", arch.flow.layer)
        assert.are.equal("Dequantize", arch.flow.layers[1].layer)
        assert.are.equal("Logit", arch.flow.layers[2].layer)
        assert.are.same({channels = 1, height = 8, width = 8}, arch.dims)
        assert.are.equal("realnvp", arch.arch.name)
        assert.are.equal(4, json.decode(meta["nvp.settings"]).model.width)
        local ck = assert(run.open(good))
        assert.are.equal("RealNVP(1x8x8, 2 scales, width 4, 1 blocks, 13556 parameters)", tostring(ck.model))
    end)

    it("never runs the recipe text: error(), os.execute, an endless loop, a slow pattern, a memory bomb", function()
        local reference = heldout_bpd(assert(run.open(good)))
        local texts = {
            'error("executed")',
            ('os.execute("touch %s/pwned")\n'):format(dir) .. fixture.RECIPE,
            "while true do end",
            'local s = string.rep("a", 40) .. "b"; s:find(string.rep("a*", 40) .. "c"); return {}',
            'local t = {} for i = 1, 1e12 do t[i] = string.rep("x", 1e6) end',
            "\27LJ\2 bytecode",
        }
        for i, text in ipairs(texts) do
            local path = with_meta("text" .. i, {["nvp.recipe"] = text})
            local t0 = clock()
            local ck, err = run.open(path)
            assert.truthy(ck, err)
            assert.is_true(clock() - t0 < 5, "loading took " .. (clock() - t0) .. " s: " .. text)
            assert.are.equal(text, ck.recipe.text)                 -- kept for the record
            assert.are.equal(reference, heldout_bpd(ck))           -- the right model, its weights
        end
        assert.is_false(fs.exists(dir .. "/pwned"))
    end)

    it("refuses bad architecture data in one line, before allocating what it asks for", function()
        local _, meta = assert(checkpoint.load(good))
        local arch = json.decode(meta["nvp.model"])
        local function variant(name, edit, expect)
            local a = json.decode(meta["nvp.model"])
            edit(a)
            local path = with_meta(name, {["nvp.model"] = json.encode(a)})
            local t0 = clock()
            local ck, err = run.open(path)
            assert.is_nil(ck, name)
            assert_one_line(path, err)
            assert.matches(expect, err, 1, true)
            assert.is_true(clock() - t0 < 5, name .. " took " .. (clock() - t0) .. " s")
        end
        assert.truthy(arch)
        variant("unknown", function(a) a.flow.layers[3].layers[1].layer = "Evil" end, "unknown layer 'Evil'")
        variant("badarg", function(a) a.flow.layers[3].layers[1].parity = 7 end, "'parity' must be 0 or 1")
        variant("extra", function(a) a.flow.layers[3].layers[1].code = "os.exit()" end, "unknown argument 'code'")
        variant("huge", function(a) a.flow.layers[3].layers[1].net.width = 1000000 end,
            "its architecture needs more memory than its tensors hold")
        variant("wide", function(a) a.flow.layers[3].layers[1].net.width = 5 end, "has shape")
        variant("dims", function(a) a.dims.height = 7 end, "height and width must be even")
        local path = with_meta("nomodel", {["nvp.model"] = "{]"})
        local ck, err = run.open(path)
        assert.is_nil(ck)
        assert_one_line(path, err)
        assert.matches("metadata 'nvp.model'", err, 1, true)
        path = with_meta("settings", {["nvp.settings"] = json.encode{model = {arch = "../../etc/passwd"}}})
        ck, err = run.open(path)
        assert.is_nil(ck)
        assert_one_line(path, err)
        assert.matches("'model.arch' = '../../etc/passwd' is not one of", err, 1, true)
    end)

    it("refuses a checkpoint of the first format with the command that converts it; the conversion evaluates "
        .. "the same", function()
        -- the first format: the old names (flow.body.*, flow.next.body.*), recipe code, no nvp.model
        local tensors, meta = assert(checkpoint.load(good))
        local old = {}
        for name, t in pairs(tensors) do
            local function rename(n)
                local rest = n:match("^model%.flow%.(.*)$")
                if not rest then return n end
                local out = "model.flow."
                while rest:match("^%d+%.inner%.") do out, rest = out .. "next.", rest:match("^%d+%.inner%.(.*)$") end
                return out .. "body." .. rest
            end
            local kind, pname = name:match("^(adam%.%a+%.)(.+)$")
            if kind then old[kind .. rename("model." .. pname):sub(7)] = t else old[rename(name)] = t end
        end
        meta["nvp.format"], meta["nvp.model"], meta["nvp.settings"] = "nvp-checkpoint-1", nil, nil
        local path = dir .. "/old.safetensors"
        assert(checkpoint.save(path, old, meta))
        local ck, err = run.open(path)
        assert.is_nil(ck)
        assert_one_line(path, err)
        assert.matches("convert it with: nvp upgrade " .. path .. " recipe=RECIPE.lua", err, 1, true)
        local recipe_path = dir .. "/rel.lua"
        fs.write(recipe_path, fixture.RECIPE)
        assert.truthy(run.upgrade(path, recipe_path, dir .. "/upgraded.safetensors"))
        local a, b = assert(run.open(good)), assert(run.open(dir .. "/upgraded.safetensors"))
        assert.are.equal(heldout_bpd(a), heldout_bpd(b))
        for name, t in pairs(a.tensors) do
            assert.are.equal(0, t:max_abs_diff(b.tensors[name]), name)
        end
        -- another architecture's recipe is refused, naming a tensor
        fs.write(recipe_path, fixture.RECIPE:gsub("width = 4", "width = 6"))
        local ok, uerr = run.upgrade(path, recipe_path, dir .. "/wrong.safetensors")
        assert.is_nil(ok)
        assert.matches("not the recipe it was trained with", uerr, 1, true)
        assert.is_false(fs.exists(dir .. "/wrong.safetensors"))
    end)
end)
