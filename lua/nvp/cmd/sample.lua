-- nvp sample CKPT [n=64 temperature=1.0 out=samples.png seed=0 height=H width=W class=K]: draw samples.
-- A class-conditional model (nn.ClassPrior) draws class K, or without class= one row per class.
local cli = require "nvp.cli"
local run = require "nvp.run"
local Rng = require "nvp.rng"
local images_mod = require "nvp.data.images"
local grid = require "nvp.viz.grid"

local M = {}

M.summary = "draw samples: nvp sample CKPT [n=64 temperature=1.0 out=samples.png height=H width=W class=K]"

local KEYS = {n = "number", temperature = "number", out = "string", seed = "number", height = "number",
              width = "number", cols = "number", class = "number"}

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
    local classes, cols = model.cfg.classes, o.cols
    local labels = o.class
    if labels ~= nil then
        if not model:is_conditional() then
            cli.usage_error(("sample: class=%s needs a class-conditional model (nn.ClassPrior); %s is not one")
                :format(tostring(o.class), path))
        end
        if labels < 0 or labels >= classes or labels ~= math.floor(labels) then
            cli.usage_error(("sample: class=%s is not a class of %s (0 to %d)"):format(tostring(o.class), path,
                classes - 1))
        end
    elseif model:is_conditional() then
        -- one row per class: image i is of class floor(i / per_row)
        local per_row = math.max(1, math.floor(n / classes))
        n = per_row * classes
        cols = cols or per_row
        labels = setmetatable({}, {__index = function(_, i) return math.floor(i / per_row) end})
    end
    local px = model:sample(n, Rng.new(o.seed or 0), o.temperature or 1.0, h, w, labels)
    local out = o.out or "samples.png"
    local ok
    ok, err = grid.save_png(out, images_mod.wrap(px, n, model.cfg.channels, h, w),
        {cols = cols or math.ceil(math.sqrt(n)), pad = 2, background = 255})
    if not ok then error(err, 0) end
    print(("wrote %s (%d samples of %dx%d at temperature %g%s)"):format(out, n, h, w, o.temperature or 1.0,
        o.class and (", class %d"):format(o.class) or model:is_conditional() and ", a row per class" or ""))
    return 0
end

return M
