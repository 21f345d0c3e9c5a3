-- nvp.likelihood.roc: how well a score separates two sets, computed exactly (no binning, no
-- interpolation), ties included.
--
--   local roc = require "nvp.likelihood.roc"
--   roc.auroc(inliers, outliers)            -- P(out > in) + 1/2 P(out = in)
--   roc.fpr_at_tpr(inliers, outliers, 0.95) -- the outliers' share accepted at 95 % inliers accepted
--
-- Scores are Lua arrays of numbers, higher = more out-of-distribution (bits/dim, or the
-- complexity-corrected score). Conventions (Hendrycks & Gimpel 2017; Liang et al. 2018, ODIN):
-- AUROC is the Mann-Whitney statistic, the probability that a random outlier scores above a random
-- inlier, a tie counting one half; 0.5 is chance, 1 perfect, below 0.5 the outliers look *more*
-- in-distribution than the inliers. For FPR at TPR the inliers are the positives, accepted when their
-- score is <= a threshold t: t is the smallest inlier score with at least a share `tpr` of the inliers
-- at or below it (the ceil(tpr * n)-th smallest), and the FPR is the share of outliers at or below t
-- (an outlier tied with t is accepted).
local M = {}

local function sorted(a)
    local s = {}
    for i = 1, #a do
        local v = a[i]
        if type(v) ~= "number" or v ~= v then
            error(("roc: score %d is %s, not a number"):format(i, tostring(v)), 3)
        end
        s[i] = v
    end
    table.sort(s)
    return s
end

local function check_sets(inliers, outliers)
    if #inliers == 0 or #outliers == 0 then
        error(("roc: needs scores in both sets (%d inliers, %d outliers)"):format(#inliers, #outliers), 3)
    end
end

--- P(out > in) + 1/2 P(out = in) over all (in, out) pairs, by one merge of the sorted sets.
function M.auroc(inliers, outliers)
    check_sets(inliers, outliers)
    local a, b = sorted(inliers), sorted(outliers)
    local n, m = #a, #b
    -- for each distinct outlier value v: (#in < v) + 1/2 (#in == v), times its multiplicity
    local below, i, j, total = 0, 1, 1, 0
    while j <= m do
        local v = b[j]
        local mult = 0
        while j <= m and b[j] == v do mult, j = mult + 1, j + 1 end
        while i <= n and a[i] < v do below, i = below + 1, i + 1 end
        local equal, k = 0, i
        while k <= n and a[k] == v do equal, k = equal + 1, k + 1 end
        total = total + mult * (below + 0.5 * equal)
    end
    return total / (n * m)
end

--- The threshold t (the ceil(tpr * n)-th smallest inlier score), the share of outliers <= t, and the
-- share of inliers <= t (>= tpr; more when inliers tie with t).
function M.fpr_at_tpr(inliers, outliers, tpr)
    check_sets(inliers, outliers)
    tpr = tpr or 0.95
    if type(tpr) ~= "number" or tpr <= 0 or tpr > 1 then
        error(("roc.fpr_at_tpr: tpr must be in (0, 1], got %s"):format(tostring(tpr)), 2)
    end
    local a, b = sorted(inliers), sorted(outliers)
    local k = math.max(1, math.ceil(tpr * #a - 1e-9))
    local t = a[k]
    local accepted_in, accepted_out = 0, 0
    for i = 1, #a do if a[i] <= t then accepted_in = accepted_in + 1 end end
    for j = 1, #b do if b[j] <= t then accepted_out = accepted_out + 1 end end
    return accepted_out / #b, t, accepted_in / #a
end

--- Quantile q in [0, 1] of a Lua array (linear interpolation between order statistics, numpy's default).
function M.quantile(values, q)
    local s = sorted(values)
    if #s == 0 then return nil end
    local pos = q * (#s - 1) + 1
    local lo = math.floor(pos)
    local hi = math.min(lo + 1, #s)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])
end

return M
