-- nvp bench: the REFERENCE.md protocol's JSON line, on a tiny batch (the figures are for experiments/).
local json = require "nvp.json"

describe("nvp bench", function()
    it("prints one JSON line with the peer's keys and the reference network's size", function()
        local p = io.popen(nvp_exe() .. " bench config=fmnist-small batch=4 steps=1 warmup=0 sample_reps=1 2>/dev/null")
        local out = p:read("*a")
        p:close()
        local line = out:match("([^\n]+)\n?$")
        local r = assert(json.decode(line))
        for _, key in ipairs{"config", "batch", "threads", "params", "fwd_gflop_per_img", "train_img_per_s",
                             "sample_img_per_s", "peak_rss_mb"} do
            assert.is_not_nil(r[key], key)
        end
        assert.are.equal(2487112, r.params)
        assert.are.equal(1.2464, r.fwd_gflop_per_img) -- REFERENCE.md 2.7
        assert.is_true(r.train_img_per_s > 0 and r.sample_img_per_s > 0 and r.peak_rss_mb > 0)
    end)

    it("names a bad config", function()
        local p = io.popen(nvp_exe() .. " bench config=resnet 2>&1; echo rc=$?")
        local out = p:read("*a")
        p:close()
        assert.matches("bench: unknown config 'resnet' (valid: cifar-ref, fmnist-small)", out, 1, true)
        assert.matches("rc=2", out, 1, true)
    end)
end)
