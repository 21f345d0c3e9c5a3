-- nvp.evaluate: bits/dim of a model on a held-out image set, in evaluation mode (batch norm on its
-- running averages), averaged over `draws` dequantization-noise draws per image.
--
--   local bpd = evaluate.bits_per_dim(model, images, {batch = 250, draws = 1, seed = 0})
local Rng = require "nvp.rng"

local M = {}

--- opts: batch, draws, seed, on_batch(done, total) (progress). Returns bits/dim (mean over all
-- images and draws) and the number of images. Restores the model's training mode afterwards.
function M.bits_per_dim(model, images, opts)
    opts = opts or {}
    local batch = math.min(opts.batch or 250, images.count)
    local draws = opts.draws or 1
    local was_training = model.training
    model:evaluate()
    local total, count = 0, 0
    local bytes = images:image_bytes()
    for d = 1, draws do
        -- The evaluation noise has its own stream: the same images get the same noise every time.
        local rng = Rng.new((opts.seed or 0) + 1000003 * d)
        local first = 0
        while first < images.count do
            local n = math.min(batch, images.count - first)
            local _, _, nll = model:loss(images.data + first * bytes, n, rng)
            for i = 0, n - 1 do total = total + nll.data[i] end
            count = count + n
            first = first + n
            if opts.on_batch then opts.on_batch(count, images.count * draws) end
        end
    end
    model:train(was_training)
    return total / count / (model.dims * math.log(2)), images.count
end

return M
