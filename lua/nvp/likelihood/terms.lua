-- nvp.likelihood.terms: an image's bits/dim split into the parts that add up to it (ARCHITECTURE.md,
-- "Numbers that must hold"; README "Bits/dim"):
--
--   bits/dim = preprocess + logdet + sum_k prior[k]
--   preprocess = (D ln 256 - logdet_pre) / (D ln 2)   the dequantisation bins and the logit transform
--                                                      (8 minus the logit's log-det in bits/dim)
--   logdet     = -(sum of the couplings' log-dets) / (D ln 2)
--   prior[k]   = -log N(z_k; 0, I) / (D ln 2) = (|z_k|^2 + D_k ln 2 pi) / (2 D ln 2) for the latent
--                z_k of scale k (split_latents order: finest, factored out first, to coarsest)
--
-- Each term is its contribution to the image's bits/dim, so an image that is surprising at one scale
-- shows it in that scale's prior term; prior_bpd[k] = prior[k] * D / D_k is the same per dimension of
-- that latent, comparable across scales of different sizes.
--
--   local terms = require "nvp.likelihood.terms"
--   local recs = terms.batch(model, images.data, n, rng)   -- nats: {nll, pre, flow, prior = {...}}
--   local scores = terms.score(model, images, {draws = 1, seed = 0})  -- bits/dim records, per image
local Rng = require "nvp.rng"

local M = {}

local LOG_2PI = math.log(2 * math.pi)

--- n images at `pixels` (uint8, the model's shape), dequantised with rng (nil: u = 1/2, no noise).
-- Returns one record per image, in nats: nll (the model's own total, nll_from), pre, flow, prior[k],
-- and dims[k] (D_k). The model should be in evaluation mode.
function M.batch(model, pixels, n, rng)
    local D = model.dims
    local y, logdet_pre = model:preprocess(pixels, n, rng, rng ~= nil)
    local z, logdet = model:forward(y)
    local nll = model:nll_from(z, logdet, logdet_pre)
    local out = {}
    for i = 0, n - 1 do
        out[i + 1] = {nll = nll.data[i], pre = D * math.log(256) - logdet_pre.data[i], flow = -logdet.data[i],
                      prior = {}, dims = {}}
    end
    for k, part in ipairs(model:split_latents(z)) do
        local dk = part.numel / n
        local data = part.data
        for i = 0, n - 1 do
            local s, base = 0, i * dk
            for j = base, base + dk - 1 do
                local v = data[j]
                s = s + v * v
            end
            out[i + 1].prior[k] = 0.5 * (s + dk * LOG_2PI)
            out[i + 1].dims[k] = dk
        end
    end
    return out
end

--- Per-image bits/dim of an Images set (the model's shape). opts: batch (100), draws (1), seed (0),
-- noise (true; false: u = 1/2, one deterministic "draw"), on_batch(done, total).
-- Returns a list of {bpd, bpd_iw, preprocess, logdet, prior = {...}, prior_bpd = {...}} in bits/dim.
-- bpd is the model's own total (nll_from, float32, the figure nvp.evaluate averages), the mean over the
-- draws; every term is the mean over the draws of its part, computed in double, so preprocess + logdet
-- + sum(prior) = bpd to float32 rounding of the total (|difference| < 1e-6 bits/dim at these sizes).
-- bpd_iw is the importance-weighted estimate over the same draws (equal to bpd at one draw). Image i's
-- noise for draw d is that of nvp.evaluate (stream seed + 1000003 d from counter i * D), so the mean of
-- bpd over a set is `nvp eval`'s figure for the same draws. Leaves the model in evaluation mode.
function M.score(model, images, opts)
    opts = opts or {}
    local draws = opts.draws or 1
    local noise = opts.noise ~= false
    if not noise then draws = 1 end
    local batch = math.min(opts.batch or 100, images.count)
    model:evaluate()
    local D = model.dims
    local bits = D * math.log(2)
    local bytes = images:image_bytes()
    local iw_of = require("nvp.evaluate").iw_of
    local out = {}
    local first = 0
    while first < images.count do
        local n = math.min(batch, images.count - first)
        local per = {} -- per[j][d]
        for d = 1, draws do
            local rng
            if noise then
                rng = Rng.new((opts.seed or 0) + 1000003 * d)
                rng:take(first * D)
            end
            local recs = M.batch(model, images.data + first * bytes, n, rng)
            for j = 1, n do
                per[j] = per[j] or {}
                per[j][d] = recs[j]
            end
        end
        for j = 1, n do
            local r = {bpd = 0, preprocess = 0, logdet = 0, prior = {}, prior_bpd = {}}
            local nlls = {}
            for d = 1, draws do
                local rec = per[j][d]
                for k, p in ipairs(rec.prior) do
                    r.prior[k] = (r.prior[k] or 0) + p / bits / draws
                    r.prior_bpd[k] = (r.prior_bpd[k] or 0) + p / (rec.dims[k] * math.log(2)) / draws
                end
                nlls[d] = rec.nll
                r.bpd = r.bpd + rec.nll / draws
                r.preprocess = r.preprocess + rec.pre / bits / draws
                r.logdet = r.logdet + rec.flow / bits / draws
            end
            r.bpd = r.bpd / bits
            r.bpd_iw = draws == 1 and r.bpd or iw_of(nlls) / bits
            out[first + j] = r
        end
        first = first + n
        if opts.on_batch then opts.on_batch(first, images.count) end
    end
    return out
end

return M
