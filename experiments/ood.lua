-- experiments/ood.lua: the worked out-of-distribution example (issue 20). A Fashion-MNIST model's
-- likelihood against three kinds of outliers:
--   cifar10   CIFAR-10 test images, grey (BT.601) and resized to 28x28 (bilinear), from ../shared/data
--             (skipped with a message when absent)
--   noise     uniform noise, every pixel U{0..255}
--   inverted  Fashion-MNIST test images inverted (255 - x), the other half of the test set
-- each scored by bits/dim and by the complexity-corrected score (bits/dim minus PNG bits/dim, Serra
-- et al. 2020), with AUROC and FPR at 95 % TPR (nvp.likelihood.ood), the mean of each term of the
-- bits/dim per set (nvp.likelihood.terms: where the outliers are surprising), and one histogram PNG
-- per comparison.
--
--   build/nvp experiments/ood.lua ckpt=runs/fm_ood/best.safetensors [n=5000 out=experiments/results/ood]
--
-- Inliers are the first n Fashion-MNIST test images; the inverted set is made from the next n, so no
-- image is an inlier and, inverted, an outlier. Results: experiments/results/ood.md.
local o = ...
local run = require "nvp.run"
local Rng = require "nvp.rng"
local T = require "nvp.tensor"
local fs = require "nvp.fs"
local images_mod = require "nvp.data.images"
local inputs = require "nvp.likelihood.inputs"
local ood = require "nvp.likelihood.ood"
local output = require "nvp.likelihood.output"

local ckpt = o.ckpt or "runs/fm_ood/best.safetensors"
local n = o.n or 5000
local dir = o.out or "experiments/results/ood"
assert(fs.mkdir_p(dir))

local ck = assert(run.open(ckpt))
local model = ck.model:evaluate()
local shape = inputs.shape_of(model)
local test = assert(require("nvp.data.fashion_mnist").load("test"))
assert(test.count >= 2 * n, ("n = %d: the test set has %d images, needs 2n"):format(n, test.count))
local inliers = test:narrow(1, n)
local sets = {}

-- CIFAR-10 test, grey 28x28
local cifar, err = require("nvp.data.cifar10").load("test", o.cifar_root)
if cifar == nil then
    print("cifar10: skipped: " .. err)
else
    local grey = assert(inputs.conform(cifar:narrow(1, math.min(n, cifar.count)), "CIFAR-10 test", shape,
        {resize = true, convert = true}))
    sets[#sets + 1] = {"cifar10", grey, "CIFAR-10 test, grey 28x28"}
end

-- uniform noise
local noise = images_mod.new(n, shape.channels, shape.height, shape.width)
local u = Rng.new(o.seed or 1):uniform(T.empty{n * model.dims}, 0, 256)
for i = 0, n * model.dims - 1 do noise.data[i] = math.min(255, math.floor(u.data[i])) end
sets[#sets + 1] = {"noise", noise, "uniform noise"}

-- inverted Fashion-MNIST (the second n test images)
local inverted = images_mod.new(n, shape.channels, shape.height, shape.width)
local src = test:narrow(n + 1, n)
for i = 0, n * model.dims - 1 do inverted.data[i] = 255 - src.data[i] end
sets[#sets + 1] = {"inverted", inverted, "inverted Fashion-MNIST"}

local opts = {batch = 250, seed = ck.recipe.seed}
local t0 = os.clock()
local in_scores = ood.scores(model, inliers, opts)
print(("inliers: %d Fashion-MNIST test images scored in %.1f s CPU"):format(n, os.clock() - t0))

local function means(sc)
    local m = {bpd = 0, complexity = 0, corrected = 0, preprocess = 0, logdet = 0, prior = {}, prior_bpd = {}}
    local count = #sc.bpd
    for i = 1, count do
        local r = sc.records[i]
        m.bpd, m.complexity, m.corrected = m.bpd + sc.bpd[i] / count, m.complexity + sc.complexity[i] / count,
            m.corrected + sc.corrected[i] / count
        m.preprocess, m.logdet = m.preprocess + r.preprocess / count, m.logdet + r.logdet / count
        for k, v in ipairs(r.prior) do
            m.prior[k] = (m.prior[k] or 0) + v / count
            m.prior_bpd[k] = (m.prior_bpd[k] or 0) + r.prior_bpd[k] / count
        end
    end
    return m
end

local function term_row(name, m)
    local pri, per = {}, {}
    for k, v in ipairs(m.prior) do pri[k], per[k] = ("%.3f"):format(v), ("%.3f"):format(m.prior_bpd[k]) end
    return ("| %s | %.3f | %.3f | %.3f | %s | %s | %.3f | %.3f |"):format(name, m.bpd, m.preprocess, m.logdet,
        table.concat(pri, " / "), table.concat(per, " / "), m.complexity, m.corrected)
end

local rows = {"| outliers (n) | score | AUROC | FPR at 95 % TPR | mean in | mean out |", "| --- | --- | --- | --- | --- | --- |"}
local terms_rows = {"| set | bits/dim | preprocess | logdet | prior per scale (fine / coarse) | prior bits per own dim | PNG bits/dim | corrected |",
                    "| --- | --- | --- | --- | --- | --- | --- | --- |", term_row("Fashion-MNIST test (inliers)", means(in_scores))}
local more_likely = {"| outliers | below the inliers' median bits/dim | lowest outlier bits/dim | inliers' median |",
                     "| --- | --- | --- | --- |"}
for _, s in ipairs(sets) do
    local name, images, label = s[1], s[2], s[3]
    local out_scores = ood.scores(model, images, opts)
    local res = {inliers = in_scores, outliers = out_scores}
    local roc = require "nvp.likelihood.roc"
    for _, score in ipairs(ood.SCORES) do
        local fpr = roc.fpr_at_tpr(in_scores[score], out_scores[score], 0.95)
        local mi, mo = 0, 0
        for _, v in ipairs(in_scores[score]) do mi = mi + v / #in_scores[score] end
        for _, v in ipairs(out_scores[score]) do mo = mo + v / #out_scores[score] end
        res[score] = {auroc = roc.auroc(in_scores[score], out_scores[score]), fpr95 = fpr, mean_in = mi, mean_out = mo}
        rows[#rows + 1] = ("| %s (%d) | %s | %.4f | %.4f | %.3f | %.3f |"):format(label, images.count,
            score == "bpd" and "bits/dim" or "bits/dim - PNG bits/dim", res[score].auroc, fpr, mi, mo)
    end
    terms_rows[#terms_rows + 1] = term_row(label, means(out_scores))
    -- outliers the model finds MORE likely than the typical inlier (the flows' famous failure)
    local median_in = roc.quantile(in_scores.bpd, 0.5)
    local below, best_out = 0, math.huge
    for _, v in ipairs(out_scores.bpd) do
        if v < median_in then below = below + 1 end
        best_out = math.min(best_out, v)
    end
    more_likely[#more_likely + 1] = ("| %s | %d of %d (%.2f %%) | %.3f | %.3f |"):format(label, below, images.count,
        100 * below / images.count, best_out, median_in)
    local px, w, h = ood.figure(res)
    local path = ("%s/ood_%s.png"):format(dir, name)
    assert(output.png(path, px, w, h, 3))
    print(("%s: %s"):format(label, table.concat(ood.report_lines(res), "; ")))
    print("wrote " .. path)
end
print()
print(table.concat(rows, "\n"))
print()
print(table.concat(terms_rows, "\n"))
print()
print(table.concat(more_likely, "\n"))
