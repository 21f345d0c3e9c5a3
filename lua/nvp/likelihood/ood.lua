-- nvp.likelihood.ood: out-of-distribution detection with a flow's likelihood, two scores:
--   bpd        the image's bits/dim (higher = less likely = more out-of-distribution)
--   corrected  bits/dim minus its PNG-compressed size in bits/dim (Serra et al., ICLR 2020;
--              nvp.likelihood.complexity): the likelihood relative to a generic lossless compressor
-- and for each, AUROC and FPR at 95 % TPR (nvp.likelihood.roc: inliers positive).
--
--   local res = ood.compare(model, inliers, outliers, {seed = 0})
--   res.bpd.auroc, res.corrected.fpr95, res.inliers.bpd[i], res.outliers.corrected[j]
local terms = require "nvp.likelihood.terms"
local complexity = require "nvp.likelihood.complexity"
local roc = require "nvp.likelihood.roc"

local M = {}

M.SCORES = {"bpd", "corrected"}

--- Both scores of every image of an Images set: {bpd = {...}, complexity = {...}, corrected = {...},
-- records = {...}} (records: nvp.likelihood.terms.score's, with the per-scale terms).
function M.scores(model, images, opts)
    opts = opts or {}
    local recs = terms.score(model, images, {batch = opts.batch, draws = opts.draws or 1, seed = opts.seed,
                                             noise = opts.noise})
    local bits, err = complexity.png_bits(images)
    if bits == nil then error(err, 0) end
    local out = {bpd = {}, complexity = {}, corrected = {}, records = recs}
    for i, r in ipairs(recs) do
        local c = bits[i] / model.dims
        out.bpd[i], out.complexity[i], out.corrected[i] = r.bpd, c, r.bpd - c
    end
    return out
end

--- Mean of a list.
local function mean(a)
    local s = 0
    for _, v in ipairs(a) do s = s + v end
    return s / #a
end

--- Score both sets and separate them by each score.
function M.compare(model, inliers, outliers, opts)
    local a, b = M.scores(model, inliers, opts), M.scores(model, outliers, opts)
    local res = {inliers = a, outliers = b}
    for _, name in ipairs(M.SCORES) do
        local fpr, threshold = roc.fpr_at_tpr(a[name], b[name], 0.95)
        res[name] = {auroc = roc.auroc(a[name], b[name]), fpr95 = fpr, threshold = threshold,
                     mean_in = mean(a[name]), mean_out = mean(b[name])}
    end
    res.complexity = {mean_in = mean(a.complexity), mean_out = mean(b.complexity)}
    return res
end

--- The histograms of both scores as one RGB picture (nvp.likelihood.histogram): pixels, width, height.
function M.figure(res)
    local histogram = require "nvp.likelihood.histogram"
    local panels = {}
    for k, name in ipairs(M.SCORES) do panels[k] = {inliers = res.inliers[name], outliers = res.outliers[name]} end
    return histogram.render(panels)
end

--- One-line summary per score, for the terminal and the results file.
function M.report_lines(res)
    local lines = {}
    for _, name in ipairs(M.SCORES) do
        local r = res[name]
        lines[#lines + 1] = ("%-9s  AUROC %.4f  FPR@95%%TPR %.4f  mean in %.4f  mean out %.4f%s"):format(name,
            r.auroc, r.fpr95, r.mean_in, r.mean_out,
            r.auroc < 0.5 and "  (outliers score as MORE likely than inliers)" or "")
    end
    return lines
end

--- The panel for the results page: HTML (a <section>) with the histograms (a PNG, given as a data:
-- URI or a relative path) and a table of both scores' AUROC and FPR at 95 % TPR. Meant to be called by
-- nvp.viz.page for a run whose directory holds ood.json (written by `nvp ood ... json=DIR/ood.json`).
function M.panel_html(res, image_src, title)
    local function esc(s) return (tostring(s):gsub("[&<>\"]", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
        ['"'] = "&quot;"})) end
    local rows = {}
    for _, name in ipairs(M.SCORES) do
        local r = res[name]
        rows[#rows + 1] = ("<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.3f</td><td>%.3f</td></tr>"):format(
            name == "bpd" and "bits/dim" or "bits/dim &minus; PNG bits/dim", r.auroc, r.fpr95, r.mean_in, r.mean_out)
    end
    return table.concat{
        '<section class="ood"><h3>', esc(title or "Out-of-distribution"), "</h3>",
        '<img src="', esc(image_src), '" alt="score histograms: inliers blue, outliers orange">',
        "<table><tr><th>score</th><th>AUROC</th><th>FPR at 95% TPR</th><th>mean in</th><th>mean out</th></tr>",
        table.concat(rows), "</table>",
        "<p>Left: bits/dim; right: bits/dim minus PNG bits/dim (Serr&agrave; et al. 2020). Inliers blue, ",
        "outliers orange. AUROC below 0.5: the model finds the outliers more likely.</p></section>"}
end

--- The panel of a run directory that holds ood.json (from `nvp ood CKPT ... json=DIR/ood.json
-- figure=DIR/ood.png`), with the figure inlined as a data: URI (the page is self-contained); nil when the
-- run has no ood.json, or nil, message when it cannot be read. Where it belongs: nvp.viz.page's html(),
-- after each run's row (e.g. a row `<tr class="ood"><td colspan=...>` .. panel .. `</td></tr>`), or as a
-- column of M.COLUMNS whose cell() returns this.
function M.panel_for_run(dir)
    local fs = require "nvp.fs"
    local json = require "nvp.json"
    local path = dir .. "/ood.json"
    if not fs.exists(path) then return nil end
    local text, err = fs.read(path)
    if text == nil then return nil, ("%s: %s"):format(path, tostring(err)) end
    local ok, doc = pcall(json.decode, text)
    if not ok or type(doc) ~= "table" then return nil, ("%s: not valid JSON"):format(path) end
    for _, name in ipairs(M.SCORES) do
        local r = doc[name]
        if type(r) ~= "table" or type(r.auroc) ~= "number" or type(r.fpr95) ~= "number"
            or type(r.mean_in) ~= "number" or type(r.mean_out) ~= "number" then
            return nil, ("%s: '%s' lacks auroc, fpr95, mean_in or mean_out"):format(path, name)
        end
    end
    local figure = type(doc.figure) == "string" and doc.figure:match("[^/]*$") or "ood.png"
    local uri, uerr = require("nvp.viz.base64").data_uri(dir .. "/" .. figure)
    if uri == nil then return nil, uerr end
    local title = ("Out-of-distribution: %s inliers, %s outliers"):format(tostring(doc.inliers), tostring(doc.outliers))
    return M.panel_html(doc, uri, title)
end

return M
