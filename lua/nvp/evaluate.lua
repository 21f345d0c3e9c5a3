-- nvp.evaluate: bits/dim of a model on a held-out image set, in evaluation mode (batch norm on its
-- running averages), over `draws` dequantization-noise draws per image. Under mpirun (nvp.dist) each
-- rank evaluates its contiguous share of the images, with the noise counters those images have in the
-- whole set, and the sums are reduced: every rank returns the same figure, the one a single process
-- gives (up to the order of the double sums).
--
--   local bpd = evaluate.bits_per_dim(model, images, {batch = 250, draws = 1, seed = 0})
--   local bpd, n, se = evaluate.bits_per_dim(model, images, {draws = 8, estimator = "iw"})
--
-- Two estimators of the same quantity, -log2 P(x) / D for the discrete image x, both upper bounds
-- (the dequantisation bound, Theis et al. 2016; Ho et al. 2019, Flow++ Sec. 3.1):
--   "mean" (default)  the average over K draws u_k of -log p(x + u_k): the average of K bounds;
--   "iw"              -log (1/K sum_k p(x + u_k)), the importance-weighted bound (log-mean-exp over
--                     the draws): <= "mean" for every image (Jensen) and equal to it at K = 1; it
--                     tightens towards -log P(x) as K grows.
-- The standard error is that of the per-image figures' mean (their standard deviation / sqrt(N)).
-- Image i's noise for draw d is the stream (seed + 1000003 d) from counter i * D, for every batch size,
-- rank count and estimator, so the two estimators see the same draws.
--
-- A class-conditional model (nn.ClassPrior) is evaluated under p(x | y) with the set's labels
-- (images.labels); M.classify gives the accuracy of argmax_y p(x | y) and the marginal
-- p(x) = 1/K sum_y p(x | y) (a uniform class prior).
local Rng = require "nvp.rng"
local dist = require "nvp.dist"

local M = {}

M.ESTIMATORS = {mean = true, iw = true}

--- -log mean_k exp(-a_k) of a Lua array of K numbers (the importance-weighted NLL from K NLLs).
function M.iw_of(a)
    local k = #a
    local lo = math.huge
    for i = 1, k do if a[i] < lo then lo = a[i] end end
    local s = 0
    for i = 1, k do s = s + math.exp(lo - a[i]) end
    return lo - math.log(s / k)
end

--- opts: batch, draws, seed, estimator ("mean" | "iw"), on_batch(done, total) (progress),
-- on_image(i, nll_list) (0-based index in the set, the K NLLs in nats; for callers that keep them).
-- Returns bits/dim (the chosen estimator's mean over all images), the number of images, the standard
-- error of that mean, and the other estimator's figure. Restores the model's training mode afterwards.
-- Every rank of a job must call it (it ends with a reduction).
function M.bits_per_dim(model, images, opts)
    opts = opts or {}
    if images == nil or images.count == nil or images.count < 1 then
        error(("evaluate.bits_per_dim: no images to evaluate (%s)"):format(images == nil and "nil" or
            ("%s images"):format(tostring(images.count))), 2)
    end
    local batch = math.min(opts.batch or 250, images.count)
    local draws = opts.draws or 1
    local estimator = opts.estimator or "mean"
    if not M.ESTIMATORS[estimator] then
        error(("evaluate: unknown estimator '%s' (valid: mean, iw)"):format(tostring(estimator)), 2)
    end
    if draws < 1 or draws ~= math.floor(draws) then
        error(("evaluate: draws must be a positive integer, got %s"):format(tostring(draws)), 2)
    end
    local conditional = model:is_conditional()
    if conditional and images.labels == nil then
        error("evaluate.bits_per_dim: the model is class-conditional and the images have no labels", 2)
    end
    local was_training = model.training
    model:evaluate()
    local bits = model.dims * math.log(2)
    local sum, sumsq, other, count = 0, 0, 0, 0
    local bytes = images:image_bytes()
    local share_first, share = dist.shard(images.count)
    local first, last = share_first, share_first + share
    local nlls = {} -- nlls[j][d]: image first + j - 1, draw d
    while first < last do
        local n = math.min(batch, last - first)
        for j = 1, n do nlls[j] = nlls[j] or {} end
        if conditional then model:set_labels(images.labels + first) end
        for d = 1, draws do
            -- The evaluation noise has its own stream: the same images get the same noise every time;
            -- image i's noise starts at counter i * dims.
            local rng = Rng.new((opts.seed or 0) + 1000003 * d)
            rng:take(first * model.dims)
            local y, logdet_pre = model:preprocess(images.data + first * bytes, n, rng)
            local nll = model:inference(function() -- the layers share buffers: nothing runs backward here
                local z, logdet = model:forward(y)
                return model:nll_from(z, logdet, logdet_pre)
            end)
            for j = 1, n do nlls[j][d] = nll.data[j - 1] end
        end
        for j = 1, n do
            local a = nlls[j]
            local mean = 0
            for d = 1, draws do mean = mean + a[d] end
            mean = mean / draws
            local iw = draws == 1 and mean or M.iw_of(a)
            local v, w = mean / bits, iw / bits
            if estimator == "iw" then v, w = w, v end
            sum, sumsq, other = sum + v, sumsq + v * v, other + w
            if opts.on_image then opts.on_image(first + j - 1, a) end
        end
        count = count + n
        first = first + n
        if opts.on_batch then opts.on_batch(count, share) end
    end
    model:train(was_training)
    if conditional then model:set_labels(nil) end
    local sums = dist.sum{sum, sumsq, other, count}
    local n = sums[4]
    local mean = sums[1] / n
    local var = n > 1 and math.max(0, (sums[2] - n * mean * mean) / (n - 1)) or 0
    return mean, images.count, math.sqrt(var / n), sums[3] / n
end

--- For a class-conditional model and a labelled set: classification by likelihood, one dequantisation
-- draw (the stream of bits_per_dim's first draw). opts: batch, seed, on_batch(done, total). Returns
-- {accuracy (of argmax_y p(x | y)), bpd_given_label (-log2 p(x | y) / D), bpd_marginal (-log2 p(x) / D,
-- p(x) = 1/K sum_y p(x | y)), count}. Costs K forward passes per image. Every rank must call it.
function M.classify(model, images, opts)
    opts = opts or {}
    if not model:is_conditional() then
        error("evaluate.classify: the model is not class-conditional (it has no nn.ClassPrior)", 2)
    end
    if images == nil or images.labels == nil or (images.count or 0) < 1 then
        error("evaluate.classify: needs a non-empty labelled image set", 2)
    end
    local classes, bits = model.cfg.classes, model.dims * math.log(2)
    local batch = math.min(opts.batch or 250, images.count)
    local was_training = model.training
    model:evaluate()
    local bytes = images:image_bytes()
    local first, share = dist.shard(images.count)
    local last = first + share
    local correct, given, marginal, count = 0, 0, 0, 0
    local per_class = {}
    while first < last do
        local n = math.min(batch, last - first)
        local rng = Rng.new((opts.seed or 0) + 1000003)
        rng:take(first * model.dims)
        local by_class = model:inference(function() return model:class_nll(images.data + first * bytes, n, rng) end)
        for i = 0, n - 1 do
            local best, arg = math.huge, -1
            for k = 0, classes - 1 do
                local v = by_class[k].data[i]
                if v < best then best, arg = v, k end
                per_class[k + 1] = v
            end
            local truth = images.labels[first + i]
            if arg == truth then correct = correct + 1 end
            given = given + by_class[truth].data[i]
            marginal = marginal + M.iw_of(per_class) -- -log (1/K sum_k p(x | k))
        end
        count, first = count + n, first + n
        if opts.on_batch then opts.on_batch(count, share) end
    end
    model:set_labels(nil)
    model:train(was_training)
    local sums = dist.sum{correct, given, marginal, count}
    return {accuracy = sums[1] / sums[4], bpd_given_label = sums[2] / sums[4] / bits,
            bpd_marginal = sums[3] / sums[4] / bits, count = sums[4]}
end

return M
