-- The three specs every flow layer owes (docs/STYLE.md): inverse round trip, log-det against a
-- brute-force log|det J|, backward against central finite differences.
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local Coupling = require "nvp.layers.coupling"
local Squeeze = require "nvp.layers.squeeze"
local FlowBatchNorm = require "nvp.layers.flow_batchnorm"

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

local LAYERS = {
    {"checkerboard coupling, parity 0", function() return Coupling.new{mask = "checkerboard", parity = 0,
        channels = 2, width = 4, blocks = 1, rng = Rng.new(1)} end, {4, 2, 4, 6}},
    {"checkerboard coupling, parity 1", function() return Coupling.new{mask = "checkerboard", parity = 1,
        channels = 3, width = 5, blocks = 2, rng = Rng.new(2)} end, {4, 3, 5, 6}},
    {"channel-wise coupling, parity 0", function() return Coupling.new{mask = "channel", parity = 0,
        channels = 4, width = 6, blocks = 1, rng = Rng.new(3)} end, {4, 4, 4, 4}},
    {"channel-wise coupling, parity 1", function() return Coupling.new{mask = "channel", parity = 1,
        channels = 4, width = 3, blocks = 1, rng = Rng.new(4)} end, {4, 4, 3, 4}},
    {"squeeze A", function() return Squeeze.new{order = "A"} end, {2, 3, 4, 2}},
    {"squeeze B", function() return Squeeze.new{order = "B"} end, {2, 2, 2, 4}},
    {"unsqueeze A", function() return Squeeze.new{order = "A", inverse = true} end, {2, 8, 2, 2}},
    {"flow batch norm (evaluation)", function()
        local bn = FlowBatchNorm.new{channels = 3}
        Rng.new(5):uniform(bn.bn._buffers.running_var, 0.5, 2)
        Rng.new(6):normal(bn.bn._buffers.running_mean)
        return bn:evaluate()
    end, {2, 3, 2, 3}},
}

for _, case in ipairs(LAYERS) do
    local name, make, shape = case[1], case[2], case[3]
    describe(name, function()
        it("inverse(forward(x)) == x", function()
            local layer = perturb(make(), 10)
            local x = random(shape, 11)
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
            local x = random(one, 13, 0.5)
            local _, logdet = layer:forward(x)
            local expected = logdet and logdet.data[0] or 0
            local J = jacobian(function(v) return (layer:forward(v)) end, x, 1e-2)
            assert_close(logabsdet(J), expected, 2e-3, 2e-3, name .. " log-det")
        end)

        it("backward matches central finite differences", function()
            local layer = perturb(make(), 14)
            local x = random(shape, 15, 0.7)
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
