-- AUROC and FPR at 95 % TPR (nvp.likelihood.roc) against cases computed by hand, ties included.
local roc = require "nvp.likelihood.roc"

describe("roc", function()
    it("gives AUROC 1, 0 and 0.5 for separated, reversed and identical sets", function()
        assert.are.equal(1, roc.auroc({1, 2, 3}, {4, 5}))
        assert.are.equal(0, roc.auroc({4, 5}, {1, 2, 3}))
        assert.are.equal(0.5, roc.auroc({7, 7, 7}, {7, 7}))
    end)

    it("counts every pair, a tie as one half", function()
        -- in {1, 2, 3}, out {2, 4}: pairs (out > in): 2>1; 4>1, 4>2, 4>3 -> 4; ties: 2=2 -> 0.5; of 6 pairs
        assert.are.equal(4.5 / 6, roc.auroc({1, 2, 3}, {2, 4}))
        -- in {1, 1, 2}, out {1, 2, 2}: out 1: 0 above + 2 ties -> 1; out 2 (x2): 2 above + 1 tie -> 2.5 each; / 9
        assert.are.equal(6 / 9, roc.auroc({1, 1, 2}, {1, 2, 2}))
        -- order of the inputs does not matter
        assert.are.equal(6 / 9, roc.auroc({2, 1, 1}, {2, 1, 2}))
    end)

    it("agrees with the brute-force pair count on random sets with many ties", function()
        local state = 7
        local function draw()
            state = (state * 1103515245 + 12345) % 2147483648
            return state % 13
        end
        for _ = 1, 20 do
            local a, b = {}, {}
            for i = 1, 17 do a[i] = draw() end
            for i = 1, 11 do b[i] = draw() + 2 end
            local pairs_ = 0
            for _, x in ipairs(a) do
                for _, y in ipairs(b) do
                    pairs_ = pairs_ + (y > x and 1 or (y == x and 0.5 or 0))
                end
            end
            assert.are.equal(pairs_ / (#a * #b), roc.auroc(a, b))
        end
    end)

    it("takes the FPR at the ceil(0.95 n)-th smallest inlier score", function()
        -- 20 inliers 1..20: the threshold is the 19th (19); outliers 10, 19, 19, 25: three are <= 19
        local inliers = {}
        for i = 1, 20 do inliers[i] = i end
        local fpr, t, tpr = roc.fpr_at_tpr(inliers, {25, 19, 10, 19}, 0.95)
        assert.are.equal(19, t)
        assert.are.equal(0.75, fpr)
        assert.are.equal(0.95, tpr)
        -- inliers tied at the threshold are all accepted: TPR above 0.95
        fpr, t, tpr = roc.fpr_at_tpr({1, 2, 2, 2}, {2, 3}, 0.95)
        assert.are.equal(2, t)
        assert.are.equal(0.5, fpr)
        assert.are.equal(1, tpr)
        -- separated sets: no outlier accepted
        assert.are.equal(0, (roc.fpr_at_tpr({1, 2, 3}, {4, 5})))
    end)

    it("refuses empty sets and NaN scores", function()
        assert.matches("needs scores in both sets %(0 inliers, 2 outliers%)", error_of(roc.auroc, {}, {1, 2}))
        assert.matches("score 2 is %-?nan", error_of(roc.auroc, {1, 0 / 0}, {1}):lower())
    end)

    it("interpolates quantiles as numpy does", function()
        assert.are.equal(2.5, roc.quantile({4, 1, 3, 2}, 0.5))
        assert.are.equal(1, roc.quantile({4, 1, 3, 2}, 0))
        assert.are.equal(4, roc.quantile({4, 1, 3, 2}, 1))
        assert.are.equal(1.75, roc.quantile({4, 1, 3, 2}, 0.25))
    end)
end)
