-- A recipe's model: a named architecture with its knobs, or a function of the layer library.
local recipe = require "nvp.recipe"
local run = require "nvp.run"

local function load_text(text, overrides)
    return recipe.from_text(text, "m.lua", overrides)
end

describe("recipe model", function()
    it("defaults to the realnvp arch with that arch's knobs, one set of defaults", function()
        local r = load_text("return {}")
        local arch = require "nvp.arch.realnvp"
        assert.are.equal("realnvp", r.model.arch)
        for _, k in ipairs(arch.KNOBS) do assert.are.equal(k[3], r.model[k[1]], k[1]) end
        local m = run.build_model(load_text("return {model = {scales = 1, width = 4, blocks = 1}}"),
            {channels = 1, height = 4, width = 4})
        assert.matches("^RealNVP%(1x4x4, 1 scales, width 4, 1 blocks, %d+ parameters%)$", tostring(m))
    end)

    it("takes a function that builds the flow, and refuses knobs beside it", function()
        local text = [[return {model = function(nn, dims)
            assert(dims.channels == 1 and dims.height == 4)
            return nn.Sequence{nn.Coupling{net = nn.ResNet{width = 3, blocks = 1}}, nn.Permute{},
                               nn.Coupling{parity = 1, net = nn.ResNet{width = 3, blocks = 1}}}
        end}]]
        local m = run.build_model(load_text(text), {channels = 1, height = 4, width = 4})
        assert.matches("^Flow%(1x4x4, 1 levels, 2 couplings", tostring(m))
        assert.matches("unknown key 'model.width' (a model built by a function takes no architecture knobs",
            error_of(function() load_text(text, {model = {width = 3}}) end), 1, true)
        assert.matches("'model.arch' and 'model.build' exclude each other", error_of(function()
            load_text("return {model = {arch = 'realnvp', build = function() end}}") end), 1, true)
        assert.matches("'model.arch' = 'glow9' is not one of: realnvp", error_of(function()
            load_text("return {model = {arch = 'glow9'}}") end), 1, true)
    end)

    it("reports a bad flow in one line naming the recipe and the layer", function()
        local bad = load_text([[return {model = function(nn) return nn.Sequence{nn.Coupling{mask = "channel"}} end}]])
        assert.matches("a channel-wise coupling needs an even channel count", error_of(function()
            run.build_model(bad, {channels = 3, height = 4, width = 4}) end), 1, true)
        local typo = load_text([[return {model = function(nn) return nn.Sequence{nn.Coupling{partiy = 1}} end}]])
        assert.matches("nn.Coupling: unknown argument 'partiy' (valid: mask, parity, net)", error_of(function()
            run.build_model(typo, {channels = 2, height = 4, width = 4}) end), 1, true)
        local odd = load_text([[return {model = function(nn) return nn.Squeeze{} end}]])
        assert.matches("cannot squeeze a 1x5x5 input", error_of(function()
            run.build_model(odd, {channels = 1, height = 5, width = 5}) end), 1, true)
    end)
end)
