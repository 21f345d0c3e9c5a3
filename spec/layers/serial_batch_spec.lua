-- Batch-1 work on one thread (nvp.flow SERIAL_BATCH): the model's forward and inverse of one image run
-- with one thread and restore the caller's thread count, also when they fail; the numbers are those of
-- the threaded path (to float rounding).
local flow = require "nvp.flow"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"

describe("batch-1 forward and inverse on one thread", function()
    local threads
    before_each(function()
        threads = NVP.nvp_get_threads()
        NVP.nvp_set_threads(2)
    end)
    after_each(function()
        flow.SERIAL_BATCH = 1
        NVP.nvp_set_threads(threads)
    end)

    local function model()
        return flow.RealNVP.new{channels = 1, size = 8, scales = 2, width = 4, blocks = 1, seed = 3}:evaluate()
    end

    it("runs one image on one thread and restores the thread count", function()
        local m = model()
        local seen
        local inner = m.flow.forward
        m.flow.forward = function(...)
            seen = NVP.nvp_get_threads()
            return inner(...)
        end
        local x = Rng.new(1):normal(T.empty{1, 1, 8, 8})
        local z, logdet = m:forward(x)
        assert.are.equal(1, seen)
        assert.are.equal(2, NVP.nvp_get_threads())
        m:forward(Rng.new(1):normal(T.empty{2, 1, 8, 8}))
        assert.are.equal(2, seen) -- two images: the caller's threads
        flow.SERIAL_BATCH = 0
        local z2, logdet2 = m:forward(x)
        assert.is_true(z:max_abs_diff(z2) < 1e-5 and logdet:max_abs_diff(logdet2) < 1e-3)
        local back = m:inverse(z)
        assert.is_true(back:max_abs_diff(x) < 1e-4)
    end)

    it("restores the thread count when the flow fails", function()
        local m = model()
        m.flow.inverse = function() error("boom") end
        local ok, err = pcall(m.inverse, m, T.zeros{1, 1, 8, 8})
        assert.is_false(ok)
        assert.matches("boom", err)
        assert.are.equal(2, NVP.nvp_get_threads())
    end)
end)
