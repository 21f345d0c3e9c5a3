-- nvp interpolate CKPT a.png b.png [steps=10 out=interpolation.png resize=1 convert=1]: a strip of
-- `steps` images decoded along the spherical interpolation (slerp) between the two images' latents
-- (nvp.likelihood.latents.slerp), the first and last being a and b reconstructed. The strip is tiled
-- by nvp.viz.grid, as the figures are, and written through a temporary.
local cli = require "nvp.cli"
local T = require "nvp.tensor"
local verb = require "nvp.likelihood.verb"
local latents = require "nvp.likelihood.latents"
local output = require "nvp.likelihood.output"
local grid = require "nvp.viz.grid"
local vlatent = require "nvp.viz.latent"

local M = {}

M.summary = "slerp between two images' latents: nvp interpolate CKPT a.png b.png [steps=10 out=interpolation.png]"

local KEYS = {steps = "number", out = "string", resize = "number", convert = "number", threads = "number"}

function M.run(args)
    local positional, o = cli.verb_args("interpolate", args, KEYS)
    if #positional ~= 3 then cli.usage_error("interpolate needs a checkpoint and two images: nvp interpolate CKPT a.png b.png") end
    local steps = o.steps or 10
    if steps < 2 or steps ~= math.floor(steps) or steps > 1000 then
        cli.usage_error("interpolate: steps must be an integer from 2 to 1000")
    end
    local ck = verb.open(positional[1], o)
    local set = verb.images(ck, {positional[2], positional[3]}, o, "interpolate")
    if set.images.count ~= 2 then
        error(("interpolate: %s and %s hold %d images; give two single images"):format(positional[2], positional[3],
            set.images.count), 0)
    end
    local model = ck.model
    local z = latents.join(model, latents.encode(model, set.images))
    local za, zb = z:narrow(1, 1), z:narrow(2, 1)
    local c = model.cfg
    local path = T.empty{steps, c.channels, c.height, c.width_px}
    for i = 0, steps - 1 do path:narrow(i + 1, 1):copy(latents.slerp(za, zb, i / (steps - 1))) end
    local strip = vlatent.decode(model, path)
    local px, w, h, ch = grid.tile(strip, {cols = steps, pad = 2, background = 255})
    local out = o.out or "interpolation.png"
    local ok, err = output.png(out, px, w, h, ch)
    if not ok then error(err, 0) end
    print(("wrote %s (%d steps from %s to %s)"):format(out, steps, positional[2], positional[3]))
    return 0
end

return M
