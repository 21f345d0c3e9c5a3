-- nvp ood CKPT in=INPUT[,INPUT...] out=INPUT[,INPUT...] [figure=ood.png json=ood.json draws=K
-- in_split=test resize=1 convert=1 images=N]: out-of-distribution detection. Scores both sets
-- (bits/dim, and bits/dim minus PNG-compressed bits/dim), prints AUROC and FPR at 95 % TPR for each
-- score (nvp.likelihood.ood), writes both scores' histograms as one PNG (left: bits/dim, right: the
-- corrected score; inliers blue, outliers orange) and, with json=PATH, the figures as JSON. in= or
-- in_split= gives the inliers (in_split: a split of the checkpoint's recipe), out= the outliers; a
-- comma separates several INPUTs.
local cli = require "nvp.cli"
local json = require "nvp.json"
local verb = require "nvp.likelihood.verb"
local ood = require "nvp.likelihood.ood"
local output = require "nvp.likelihood.output"

local M = {}

M.summary = "out-of-distribution AUROC: nvp ood CKPT in=INPUT|in_split=test out=INPUT [figure=ood.png]"

local KEYS = verb.keys{["in"] = "string", out = "string", in_split = "string", figure = "string", json = "string",
                       draws = "number", seed = "number", noise = "number"}

local function words(s)
    local t = {}
    for w in s:gmatch("[^,]+") do t[#t + 1] = w end
    return t
end

local function r6(v) return tonumber(("%.6f"):format(v)) end

function M.run(args)
    local positional, o = cli.verb_args("ood", args, KEYS)
    local path = positional[1]
    if path == nil or #positional > 1 then cli.usage_error("ood needs one checkpoint: nvp ood CKPT in=... out=...") end
    if o.split then cli.usage_error("ood: use in_split=NAME for the inliers' split") end
    if not (o["in"] or o.in_split) or not o.out then
        cli.usage_error("ood: give the inliers (in=INPUT or in_split=test) and the outliers (out=INPUT)")
    end
    local ck = verb.open(path, o)
    local function set_of(w, split)
        local so = {}
        for k, v in pairs(o) do so[k] = v end
        so.split = split
        return verb.images(ck, w and words(w) or {}, so, "ood")
    end
    local inliers = set_of(o["in"], o.in_split)
    local outliers = set_of(o.out, nil)
    local res = ood.compare(ck.model, inliers.images, outliers.images, {batch = o.batch, draws = o.draws,
        seed = o.seed or ck.recipe.seed, noise = o.noise ~= 0})
    local figure = o.figure or "ood.png"
    local px, w, h = ood.figure(res)
    local ok, err = output.png(figure, px, w, h, 3)
    if not ok then error(err, 0) end
    print(("%s: %d inliers, %d outliers (higher score = more out-of-distribution)"):format(path,
        inliers.images.count, outliers.images.count))
    for _, line in ipairs(ood.report_lines(res)) do print(line) end
    print(("PNG complexity: mean in %.4f, out %.4f bits/dim"):format(res.complexity.mean_in, res.complexity.mean_out))
    print(("wrote %s (left: bits/dim, right: bits/dim - PNG bits/dim; inliers blue, outliers orange)"):format(figure))
    if o.json then
        local doc = {checkpoint = path, inliers = inliers.images.count, outliers = outliers.images.count,
                     figure = figure}
        for _, name in ipairs(ood.SCORES) do
            local r = res[name]
            doc[name] = {auroc = r6(r.auroc), fpr95 = r6(r.fpr95), mean_in = r6(r.mean_in), mean_out = r6(r.mean_out)}
        end
        ok, err = output.text(o.json, json.encode(doc) .. "\n")
        if not ok then error(err, 0) end
        print(("wrote %s"):format(o.json))
    end
    return 0
end

return M
