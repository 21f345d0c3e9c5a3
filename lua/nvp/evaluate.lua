-- nvp.evaluate: bits/dim of a model on a held-out image set, in evaluation mode (batch norm on its
-- running averages), averaged over `draws` dequantization-noise draws per image. Under mpirun
-- (nvp.dist) each rank evaluates its contiguous share of the images, with the noise counters those
-- images have in the whole set, and the sums are reduced: every rank returns the same figure, the
-- one a single process gives (up to the order of the double sums).
--
--   local bpd = evaluate.bits_per_dim(model, images, {batch = 250, draws = 1, seed = 0})
local Rng = require "nvp.rng"
local dist = require "nvp.dist"

local M = {}

--- opts: batch, draws, seed, on_batch(done, total) (progress). Returns bits/dim (mean over all
-- images and draws) and the number of images. Restores the model's training mode afterwards.
-- Every rank of a job must call it (it ends with a reduction).
function M.bits_per_dim(model, images, opts)
    opts = opts or {}
    if images == nil or images.count == nil or images.count < 1 then
        error(("evaluate.bits_per_dim: no images to evaluate (%s)"):format(images == nil and "nil" or
            ("%s images"):format(tostring(images.count))), 2)
    end
    local batch = math.min(opts.batch or 250, images.count)
    local draws = opts.draws or 1
    local was_training = model.training
    model:evaluate()
    local total, count = 0, 0
    local bytes = images:image_bytes()
    local share_first, share = dist.shard(images.count)
    for d = 1, draws do
        -- The evaluation noise has its own stream: the same images get the same noise every time;
        -- image i's noise starts at counter i * dims.
        local rng = Rng.new((opts.seed or 0) + 1000003 * d)
        rng:take(share_first * model.dims)
        local first, last = share_first, share_first + share
        while first < last do
            local n = math.min(batch, last - first)
            local _, _, nll = model:loss(images.data + first * bytes, n, rng)
            for i = 0, n - 1 do total = total + nll.data[i] end
            count = count + n
            first = first + n
            if opts.on_batch then opts.on_batch(count, share * draws) end
        end
    end
    model:train(was_training)
    local sums = dist.sum{total, count}
    return sums[1] / sums[2] / (model.dims * math.log(2)), images.count
end

return M
