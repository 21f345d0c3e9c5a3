-- The three specs every flow layer owes (docs/STYLE.md): inverse round trip, log-det against a
-- brute-force log|det J|, backward against central finite differences.
local T = require "nvp.tensor"
local Rng = require "nvp.rng"

local function random(shape, seed, std)
    return Rng.new(seed):normal(T.empty(shape), 0, std or 1)
end

-- Weights far from their initial values, so that s and t are not trivially small.
local function perturb(layer, seed)
    local g = Rng.new(seed)
    layer:each_parameter(function(name, p)
        local noise = g:normal(T.empty(p.shape), 0, 0.15)
        p:add(noise)
    end)
    return layer
end

-- Every flow layer of the registry, with the cases it registers (examples): being registered is
-- being covered. A flow layer without examples fails here.
local nn = require "nvp.nn"
local registry = require "nvp.layers.registry"

local LAYERS = {}
for _, entry in ipairs(registry.each("flow")) do
    it(("registry: %s has example cases for the three specs"):format(entry.name), function()
        assert.is_true(type(entry.examples) == "table" and #entry.examples > 0,
            entry.name .. " registers no examples: the registry specs cannot cover it")
    end)
    for i, ex in ipairs(entry.examples or {}) do
        local args = type(ex.args) == "function" and ex.args(nn) or ex.args
        local desc = nn[entry.name](args)
        LAYERS[#LAYERS + 1] = {("%s, example %d"):format(entry.name, i), function()
            local layer = nn.build(desc, ex.shape, {rng = Rng.new(i)})
            if ex.prepare then ex.prepare(layer, Rng.new(5)) end
            if ex.evaluate then layer:evaluate() end
            return layer
        end, {4, ex.shape[1], ex.shape[2], ex.shape[3]}, ex.domain}
    end
end

for _, case in ipairs(LAYERS) do
    local name, make, shape, domain = case[1], case[2], case[3], case[4]
    -- inputs: standard normal, or uniform on a layer's domain (the logit's (0, 256))
    local function input(sh, seed, std)
        if domain then return Rng.new(seed):uniform(T.empty(sh), domain[1], domain[2]) end
        return random(sh, seed, std)
    end
    describe(name, function()
        it("inverse(forward(x)) == x", function()
            local layer = perturb(make(), 10)
            local x = input(shape, 11)
            local y = layer:forward(x)
            local back = layer:inverse(y:clone())
            assert_close(back, x, 1e-4, 1e-5, name .. " round trip")
        end)

        it("log-det equals log|det J| of the brute-force Jacobian (one sample)", function()
            -- Evaluation mode: the s/t networks' batch norms use fixed statistics, so the map is
            -- smooth enough for central differences (with one-sample batch statistics over a few
            -- pixels it is not, whatever the log-det).
            local layer = perturb(make(), 12):evaluate()
            local one = {1, shape[2], shape[3], shape[4]}
            local x = input(one, 13, 0.5)
            local _, logdet = layer:forward(x)
            local expected = logdet and logdet.data[0] or 0
            local J = jacobian(function(v) return (layer:forward(v)) end, x, 1e-2)
            assert_close(logabsdet(J), expected, 2e-3, 2e-3, name .. " log-det")
        end)

        it("backward matches central finite differences", function()
            local layer = perturb(make(), 14)
            local x = input(shape, 15, 0.7)
            local y = layer:forward(x)
            local dy = random(y.shape, 16)
            local dlogdet = random({shape[1]}, 17)
            local function loss()
                local yy, ld = layer:forward(x)
                local s = yy:dot(dy)
                if ld then s = s + ld:dot(dlogdet) end
                return s
            end
            layer:forward(x)
            layer:zero_grad()
            local dx = layer:backward(x, dy, dlogdet):clone()
            local probe = {0, 1, x.numel - 1, math.floor(x.numel / 2), 7}
            for _, i in ipairs(probe) do
                assert_grad(dx.data[i], loss, x.data, i, name .. " dx[" .. i .. "]")
            end
            local checked = 0
            layer:each_parameter(function(pname, p, g)
                if checked >= 40 then return end
                for _, i in ipairs{0, p.numel - 1} do
                    checked = checked + 1
                    local analytic = g.data[i]
                    layer:forward(x)
                    assert_grad(analytic, loss, p.data, i, name .. " d" .. pname .. "[" .. i .. "]")
                end
            end)
        end)
    end)
end
