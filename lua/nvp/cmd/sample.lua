-- nvp sample CKPT [n=64 temperature=1.0 out=samples.png seed=0 height=H width=W]: draw samples.
local cli = require "nvp.cli"
local run = require "nvp.run"
local Rng = require "nvp.rng"
local images_mod = require "nvp.data.images"
local grid = require "nvp.viz.grid"

local M = {}

M.summary = "draw samples: nvp sample CKPT [n=64 temperature=1.0 out=samples.png height=H width=W]"

local KEYS = {n = "number", temperature = "number", out = "string", seed = "number", height = "number",
              width = "number", cols = "number"}

function M.run(args)
    local positional, o = cli.verb_args("sample", args, KEYS)
    local path = positional[1]
    if path == nil or #positional > 1 then cli.usage_error("sample needs one checkpoint: nvp sample CKPT [n=64 ...]") end
    local n = o.n or 64
    if n < 1 or n ~= math.floor(n) then cli.usage_error("sample: n must be a positive integer") end
    local ck, err = run.open(path)
    if ck == nil then error(err, 0) end
    local model = ck.model:evaluate()
    local h, w = o.height or model.cfg.height, o.width or model.cfg.width_px
    local px = model:sample(n, Rng.new(o.seed or 0), o.temperature or 1.0, h, w)
    local out = o.out or "samples.png"
    local ok
    ok, err = grid.save_png(out, images_mod.wrap(px, n, model.cfg.channels, h, w),
        {cols = o.cols or math.ceil(math.sqrt(n)), pad = 2, background = 255})
    if not ok then error(err, 0) end
    print(("wrote %s (%d samples of %dx%d at temperature %g)"):format(out, n, h, w, o.temperature or 1.0))
    return 0
end

return M
