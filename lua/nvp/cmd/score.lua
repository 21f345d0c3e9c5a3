-- nvp score CKPT INPUT... [split=test out=scores.jsonl draws=K seed=S noise=0 resize=1 convert=1 images=N]:
-- per-image bits/dim, each split into the terms that add up to it (nvp.likelihood.terms): the
-- preprocessing (dequantisation bins and logit), the couplings' log-dets, and the prior's term for each
-- scale's latent, finest first (prior_bpd: the same per dimension of that latent). One JSON line per
-- image, then a summary line (mean, standard error, median, quantiles), written atomically to `out`;
-- the summary is printed too. With draws=K > 1, each line also has bpd_iw (importance-weighted over the
-- same draws). Noise: image i of the set gets nvp eval's draws (the recipe's seed), so the mean over a
-- split equals `nvp eval CKPT split=...` for the same draws; noise=0 scores with u = 1/2, deterministically.
local cli = require "nvp.cli"
local json = require "nvp.json"
local verb = require "nvp.likelihood.verb"
local terms = require "nvp.likelihood.terms"
local roc = require "nvp.likelihood.roc"
local output = require "nvp.likelihood.output"

local M = {}

M.summary = "per-image bits/dim and its terms: nvp score CKPT INPUT...|split=test [out=scores.jsonl draws=K]"

local KEYS = verb.keys{out = "string", draws = "number", seed = "number", noise = "number"}

local function r6(v) return tonumber(("%.6f"):format(v)) end

--- Summary statistics of a list of bits/dim: {images, mean, stderr, min, q05, q25, median, q75, q95, max}.
function M.summarise(values)
    local n, sum, sumsq = #values, 0, 0
    for _, v in ipairs(values) do sum, sumsq = sum + v, sumsq + v * v end
    local mean = sum / n
    local var = n > 1 and math.max(0, (sumsq - n * mean * mean) / (n - 1)) or 0
    local s = {images = n, mean = mean, stderr = math.sqrt(var / n)}
    for _, q in ipairs{{"min", 0}, {"q05", 0.05}, {"q25", 0.25}, {"median", 0.5}, {"q75", 0.75}, {"q95", 0.95},
                       {"max", 1}} do
        s[q[1]] = roc.quantile(values, q[2])
    end
    return s
end

--- One JSON line for image `name` from a terms.score record.
function M.line(name, r, draws)
    local prior, prior_bpd = json.array{}, json.array{}
    for k, v in ipairs(r.prior) do prior[k], prior_bpd[k] = r6(v), r6(r.prior_bpd[k]) end
    local t = {image = name, bpd = r6(r.bpd), preprocess = r6(r.preprocess), logdet = r6(r.logdet), prior = prior,
               prior_bpd = prior_bpd}
    if draws > 1 then t.bpd_iw = r6(r.bpd_iw) end
    return json.encode(t)
end

function M.run(args)
    local positional, o = cli.verb_args("score", args, KEYS)
    local path = table.remove(positional, 1)
    if path == nil then cli.usage_error("score needs a checkpoint: nvp score CKPT INPUT... [out=scores.jsonl]") end
    local draws = o.draws or 1
    if draws < 1 or draws ~= math.floor(draws) then cli.usage_error("score: draws must be a positive integer") end
    local ck = verb.open(path, o)
    local set = verb.images(ck, positional, o, "score")
    local recs = terms.score(ck.model, set.images, {batch = o.batch, draws = draws, seed = o.seed or ck.recipe.seed,
                                                    noise = o.noise ~= 0})
    local lines, values, iw = {}, {}, {}
    for i, r in ipairs(recs) do
        lines[i] = M.line(set.names[i], r, draws)
        values[i], iw[i] = r.bpd, r.bpd_iw
    end
    local s = M.summarise(values)
    local summary = {summary = true, checkpoint = path, step = tonumber(ck.meta["nvp.step"]), draws = draws,
                     noise = o.noise ~= 0}
    for k, v in pairs(s) do summary[k] = k == "images" and v or r6(v) end
    if draws > 1 then summary.mean_iw = r6(M.summarise(iw).mean) end
    lines[#lines + 1] = json.encode(summary)
    local out = o.out or "scores.jsonl"
    local ok, err = output.text(out, table.concat(lines, "\n") .. "\n")
    if not ok then error(err, 0) end
    print(("%s: %d image%s, bits/dim mean %.4f +- %.4f, median %.4f, 5%% %.4f, 95%% %.4f%s"):format(path, s.images,
        s.images == 1 and "" or "s", s.mean, s.stderr, s.median, s.q05, s.q95, draws > 1 and (", importance-weighted mean %.4f"):format(
        summary.mean_iw) or ""))
    print(("wrote %s"):format(out))
    return 0
end

return M
