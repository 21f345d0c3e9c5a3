-- One image at a time (the page's sampling, `nvp encode` of one file): the convolutions split their
-- channels over the threads (winograd.c forward_split), so the model's forward and inverse of one image
-- give the same numbers on one thread and on two.
local flow = require "nvp.flow"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"

describe("batch-1 forward and inverse on two threads", function()
    local threads
    before_each(function() threads = NVP.nvp_get_threads() end)
    after_each(function() NVP.nvp_set_threads(threads) end)

    it("equal one thread's, and the inverse returns the image", function()
        -- 16x16 with 32 channels at the first scale: the 3x3 convs are big enough for a team
        local m = flow.RealNVP.new{channels = 1, size = 16, scales = 2, width = 32, blocks = 1, seed = 3}:evaluate()
        local x = Rng.new(1):normal(T.empty{1, 1, 16, 16})
        local out = {}
        for _, n in ipairs{1, 2} do
            assert.are.equal(0, NVP.nvp_set_threads(n))
            local z, logdet = m:forward(x)
            out[n] = {z = z:clone(), logdet = logdet:clone(), back = m:inverse(z):clone()}
        end
        assert_close(out[2].z, out[1].z, 1e-6, 1e-6, "z")
        assert_close(out[2].logdet, out[1].logdet, 1e-6, 1e-4, "logdet")
        assert_close(out[2].back, x, 1e-4, 1e-4, "inverse(forward(x))")
    end)
end)
