-- Per-image bits/dim (nvp.likelihood.terms, nvp score) and the importance-weighted estimate
-- (nvp.evaluate, nvp eval estimator=iw) on a tiny trained model.
local fixture = dofile("spec/recipes/likelihood_fixture.lua")
local evaluate = require "nvp.evaluate"
local terms = require "nvp.likelihood.terms"
local json = require "nvp.json"
local fs = require "nvp.fs"

describe("likelihood scores", function()
    local f, ck, images, exe
    setup(function()
        f, ck, images = fixture.open(20)
        exe = nvp_exe()
    end)
    teardown(function() fixture.remove(f) end)

    it("splits each image's bits/dim into terms that add up to the model's own total", function()
        -- a term left out (or counted twice) moves the sum by far more than 1e-6: each is > 0.01 here (the
        -- 20-step model's smallest |log-det| is ~0.1 and moves with the kernels' rounding: 0.095-0.110)
        local recs = terms.score(ck.model, images, {batch = 7, draws = 2, seed = 3})
        assert.are.equal(images.count, #recs)
        for i, r in ipairs(recs) do
            local sum = r.preprocess + r.logdet
            assert.are.equal(ck.model.cfg.scales, #r.prior)
            for _, p in ipairs(r.prior) do sum = sum + p end
            -- bpd is the model's own total (nll_from, float32); the terms are summed in double
            assert_close(sum, r.bpd, 0, 1e-6, "terms of image " .. i)
            -- each scale's prior term per dimension of its latent is at least the Gaussian's entropy floor
            -- for |z|^2 >= 0: ln(2 pi) / (2 ln 2) = 1.33 bits
            for _, q in ipairs(r.prior_bpd) do assert.is_true(q > 1.32) end
            assert.is_true(math.abs(r.preprocess) > 0.01 and math.abs(r.logdet) > 0.01 and r.prior[1] > 0.01)
        end
    end)

    it("averages over a set to nvp eval's figure for the same draws", function()
        for _, draws in ipairs{1, 3} do
            local recs = terms.score(ck.model, images, {batch = 9, draws = draws, seed = ck.recipe.seed})
            local mean = 0
            for _, r in ipairs(recs) do mean = mean + r.bpd / #recs end
            local bpd = evaluate.bits_per_dim(ck.model, images, {batch = 32, draws = draws, seed = ck.recipe.seed})
            assert_close(mean, bpd, 1e-12, 1e-12, ("draws = %d"):format(draws))
        end
    end)

    it("gives an importance-weighted estimate <= the mean of bounds, equal at K = 1", function()
        local kept = {}
        local iw, n, se, mean = evaluate.bits_per_dim(ck.model, images, {batch = 16, draws = 4, seed = 5,
            estimator = "iw", on_image = function(i, nlls) kept[i] = nlls end})
        assert.are.equal(images.count, n)
        assert.is_true(iw <= mean, ("iw %.9f > mean %.9f"):format(iw, mean))
        assert.is_true(iw < mean - 1e-7, "four different draws must give a strictly tighter estimate")
        assert.is_true(se > 0)
        -- per image, on the same draws
        for i = 0, images.count - 1 do
            local a = kept[i]
            local avg = (a[1] + a[2] + a[3] + a[4]) / 4
            assert.is_true(evaluate.iw_of(a) <= avg + 1e-12)
        end
        local mean_again = evaluate.bits_per_dim(ck.model, images, {batch = 16, draws = 4, seed = 5})
        assert.are.equal(mean, mean_again)
        local one_iw = evaluate.bits_per_dim(ck.model, images, {batch = 16, draws = 1, seed = 5, estimator = "iw"})
        local one = evaluate.bits_per_dim(ck.model, images, {batch = 16, draws = 1, seed = 5})
        assert.are.equal(one, one_iw)
        assert_close(evaluate.iw_of{2.5}, 2.5, 0, 0)
        -- log-mean-exp by hand: -log((e^-1 + e^-3) / 2)
        assert_close(evaluate.iw_of{1, 3}, -math.log((math.exp(-1) + math.exp(-3)) / 2), 1e-12, 0)
    end)

    it("writes one JSON line per image and a summary (nvp score), eval prints both estimates", function()
        local out = f.dir .. "/scores.jsonl"
        local text, rc = fixture.sh(("%s score %s %s out=%s draws=2"):format(exe, f.ckpt, f.test_idx, out))
        assert.are.equal(0, rc, text)
        local lines = {}
        for line in io.lines(out) do lines[#lines + 1] = assert(json.decode(line)) end
        assert.are.equal(images.count + 1, #lines)
        assert.are.equal(f.test_idx .. "#1", lines[1].image)
        assert.are.equal(2, #lines[1].prior)
        assert.is_true(lines[1].bpd_iw <= lines[1].bpd)
        local summary = lines[#lines]
        assert.is_true(summary.summary)
        assert.are.equal(images.count, summary.images)
        assert.is_true(summary.q05 <= summary.median and summary.median <= summary.q95)
        local mean = 0
        for i = 1, images.count do mean = mean + lines[i].bpd / images.count end
        assert_close(summary.mean, mean, 0, 2e-6)
        -- the split named by the recipe gives the same images and the same figure as nvp eval
        text, rc = fixture.sh(("%s score %s split=test root=%s out=%s"):format(exe, f.ckpt, f.dir, out))
        assert.are.equal(0, rc, text)
        local score_mean = tonumber(text:match("bits/dim mean ([%d.]+)"))
        text, rc = fixture.sh(("%s eval %s root=%s"):format(exe, f.ckpt, f.dir))
        assert.are.equal(0, rc, text)
        assert.are.equal(tonumber(text:match("bits/dim ([%d.]+) %+%-")), score_mean)
        text, rc = fixture.sh(("%s eval %s root=%s draws=3 estimator=iw"):format(exe, f.ckpt, f.dir))
        assert.are.equal(0, rc, text)
        local iw = tonumber(text:match("test bits/dim ([%d.]+) %+%- [%d.]+ %(importance%-weighted; 40 images, 3 draws"))
        local avg = tonumber(text:match("bits/dim ([%d.]+) by the mean of bounds on the same draws"))
        assert.is_true(iw ~= nil and avg ~= nil, text)
        assert.is_true(iw <= avg)
        text, rc = fixture.sh(("%s eval %s root=%s estimator=best"):format(exe, f.ckpt, f.dir))
        assert.are.equal(2, rc)
        assert.matches("eval: estimator must be mean or iw", text)
    end)

    it("refuses bad inputs in one line, exits non-zero and writes nothing", function()
        local out = f.dir .. "/refused.jsonl"
        local bad = f.dir .. "/bad.png"
        assert(fs.write(bad, "not an image"))
        local cases = {
            {bad, "^" .. bad:gsub("%p", "%%%0") .. ": not a PNG, JPEG, IDX image file or CIFAR%-10 batch %(%.bin, %.bin%.gz%)\n$"},
            {f.dir .. "/missing.png", ": no such file or directory\n$"},
            {f.ckpt, "last%.safetensors: not a PNG, JPEG, IDX image file or CIFAR%-10 batch"},
        }
        for _, case in ipairs(cases) do
            local text, rc = fixture.sh(("%s score %s %s out=%s"):format(exe, f.ckpt, case[1], out))
            assert.are.equal(1, rc, text)
            assert.matches(case[2], text)
            assert.are.equal(1, select(2, text:gsub("\n", "")), text)
            assert.is_false(fs.exists(out))
        end
        local text, rc = fixture.sh(("%s score %s out=%s"):format(exe, f.ckpt, out))
        assert.are.equal(2, rc)
        assert.matches("score: give images", text)
        text, rc = fixture.sh(("%s score %s %s draws=0"):format(exe, f.ckpt, f.test_idx))
        assert.are.equal(2, rc)
        assert.matches("draws must be a positive integer", text)
        text, rc = fixture.sh(("%s score %s %s out=%s/no/such/dir/s.jsonl"):format(exe, f.ckpt, f.test_idx, f.dir))
        assert.are.equal(1, rc)
        assert.matches("no/such/dir/s%.jsonl", text)
    end)
end)
