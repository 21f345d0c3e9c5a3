-- nvp.viz.figures: the figures of the Real NVP visualization page, each a short function over
-- nvp.viz.latent (encode / decode / mix), nvp.viz.grid (tiles) and PNG / GIF / WebP output.
--
--   local figures = require "nvp.viz.figures"
--   local ctx = assert(figures.open("runs/demo/last.safetensors"))   -- out = the run directory
--   local written = figures.run(ctx, "all")          -- {paths}; or figures.samples(ctx, opts)
--
-- A figure is function(ctx, opts) -> {paths written}; it raises on errors (a missing dataset, a bad
-- size). ctx: model (evaluation mode: batch norm uses running averages), recipe, meta, dir (where
-- files go), ckpt (path) and heldout() (the held-out Images, loaded once, or nil, message).
-- Runnable versions, one script per figure: experiments/viz/*.lua. Equations: docs/PAPER.md,
-- "Visualization equations".
local ffi = require "ffi"
local run = require "nvp.run"
local Rng = require "nvp.rng"
local T = require "nvp.tensor"
local fs = require "nvp.fs"
local grid = require "nvp.viz.grid"
local png = require "nvp.viz.png"
local gif = require "nvp.viz.gif"
local webp = require "nvp.viz.webp"
local latent = require "nvp.viz.latent"

local M = {}

--- The manifold animation's file: a GIF for gray models (its 256 grays are exact), an animated
-- WebP for colour ones (a GIF's fixed 252-colour palette posterises natural images).
M.MANIFOLD_ANIMATIONS = {"viz_manifold.webp", "viz_manifold.gif"}
function M.manifold_animation(channels)
    return channels == 1 and "viz_manifold.gif" or "viz_manifold.webp"
end

--- Figure names in page order, and the files each writes (relative to ctx.dir); a list inside the
-- list is "one of these" (the manifold animation, by the model's channels).
M.NAMES = {"examples", "samples", "larger", "infoloss", "manifold", "classes"}
M.FILES = {
    examples = {"viz_examples.png"},
    samples = {"viz_samples.png", "viz_temperatures.png"},
    larger = {"viz_larger2x.png", "viz_larger10x.png"},
    infoloss = {"viz_infoloss_noise.png", "viz_infoloss_zero.png"},
    manifold = {"viz_manifold.png", M.MANIFOLD_ANIMATIONS},
    classes = {"viz_classes.png"},   -- a class-conditional model's only
}
M.TEMPERATURES = {0, 0.25, 0.5, 0.7, 0.85, 1.0}
M.MANIFOLD_FRAMES = 40

local PAD, BACKGROUND = 2, 255

--- A context for a checkpoint. opts: out (directory, default the checkpoint's), heldout (an Images
-- batch to use instead of the recipe's dataset). Returns ctx, or nil, message.
function M.open(ckpt_path, opts)
    opts = opts or {}
    local ck, err = run.open(ckpt_path)
    if ck == nil then return nil, err end
    return M.context(ck.model, ck.recipe, {dir = opts.out or ckpt_path:match("^(.*)/[^/]*$") or ".",
        ckpt = ckpt_path, meta = ck.meta, heldout = opts.heldout})
end

--- The context of a figure script's arguments: ckpt=PATH (required) and out=DIR. Raises with the usage.
function M.script_context(opts, script)
    if type(opts.ckpt) ~= "string" then
        error(("usage: nvp %s ckpt=CHECKPOINT [out=DIR ...]"):format(script), 0)
    end
    local ctx, err = M.open(opts.ckpt, {out = opts.out})
    if ctx == nil then error(err, 0) end
    return ctx
end

--- A context for a model in memory (specs, scripts that build their own): fields as in open().
function M.context(model, recipe, fields)
    local ctx = {model = model:evaluate(), recipe = recipe, dir = fields.dir or ".", ckpt = fields.ckpt,
                 meta = fields.meta or {}}
    if model:is_conditional() then -- image i of every figure is drawn (or encoded) under class i % K
        local k = model.cfg.classes
        model:set_labels(setmetatable({}, {__index = function(_, i) return i % k end}))
    end
    local heldout, heldout_err = fields.heldout, nil
    function ctx.heldout()
        if heldout == nil and heldout_err == nil then
            local ds, err = require("nvp.data.dataset").open(recipe.data)
            if ds == nil then heldout_err = err else heldout = ds.heldout end
        end
        return heldout, heldout_err
    end
    return ctx
end

-- The first n held-out images, or an error naming why there are none.
local function heldout_images(ctx, n, what)
    local images, err = ctx.heldout()
    if images == nil then error(("%s: no held-out images: %s"):format(what, err), 0) end
    if images.count < n then
        error(("%s: needs %d held-out images, the data has %d"):format(what, n, images.count), 0)
    end
    return images:narrow(1, n)
end

local function path_of(ctx, name)
    assert(fs.mkdir_p(ctx.dir))
    return ctx.dir .. "/" .. name
end

--- Tile images into a grid of `cols` columns and write it as a PNG; returns the path.
function M.save_grid(ctx, name, images, cols)
    local path = path_of(ctx, name)
    local ok, err = grid.save_png(path, images, {cols = cols, pad = PAD, background = BACKGROUND})
    if not ok then error(err, 0) end
    return path
end

-- ---- the figures ---------------------------------------------------------------------------------

--- A 10x10 grid of held-out images (opts.n = 100).
function M.examples(ctx, opts)
    local images, err = ctx.heldout()
    if images == nil then error("examples: no held-out images: " .. err, 0) end
    local n = math.min(opts and opts.n or 100, images.count)
    return {M.save_grid(ctx, "viz_examples.png", images:narrow(1, n), math.ceil(math.sqrt(n)))}
end

--- z ~ N(0, T^2 I): a 10x10 grid at T = opts.temperature (1), and a temperature strip: one column per T
-- of M.TEMPERATURES, one row per noise draw (the same eps scaled by T along a row).
function M.samples(ctx, opts)
    opts = opts or {}
    local model, rng = ctx.model, Rng.new(opts.seed or 0)
    local grid_images = latent.decode(model, latent.prior(model, rng, 100, opts.temperature or 1))
    local rows, temps = opts.rows or 6, M.TEMPERATURES
    local eps = latent.prior(model, rng, rows, 1)
    local z = T.empty{rows * #temps, eps.shape[2], eps.shape[3], eps.shape[4]}
    for r = 1, rows do
        for j, t in ipairs(temps) do z:narrow((r - 1) * #temps + j, 1):copy(latent.row(eps, r)):scale(t) end
    end
    return {M.save_grid(ctx, "viz_samples.png", grid_images, 10),
            M.save_grid(ctx, "viz_temperatures.png", latent.decode(model, z), #temps)}
end

--- Samples larger than the training images (the model is convolutional): 25 of twice the size in a
-- 5x5 grid and one of ten times the size. opts.height, opts.width: one custom size instead (9 samples,
-- viz_larger_HxW.png); a size the scales do not allow raises, naming the valid multiples.
function M.larger(ctx, opts)
    opts = opts or {}
    local model, rng = ctx.model, Rng.new(opts.seed or 0)
    local h, w = model.cfg.height, model.cfg.width_px
    local jobs = {{"viz_larger2x.png", 2 * h, 2 * w, 25}, {"viz_larger10x.png", 10 * h, 10 * w, 1}}
    if opts.height or opts.width then
        local ch, cw = opts.height or h, opts.width or w
        jobs = {{("viz_larger_%sx%s.png"):format(tostring(ch), tostring(cw)), ch, cw, 9}}
    end
    local out = {}
    for _, job in ipairs(jobs) do
        latent.check_size(model, job[2], job[3], "larger samples")
        local z = latent.prior(model, rng, job[4], opts.temperature or 1, job[2], job[3])
        out[#out + 1] = M.save_grid(ctx, job[1], latent.decode(model, z), math.ceil(math.sqrt(job[4])))
    end
    return out
end

--- The images decoded after replacing the k finest latent parts, k = 0 .. L-1 (L scales), of the
-- first L held-out images: an L x L grid (rows: images, columns: k), eps "noise" (N(0, I)) or "zero".
-- Column 0 decodes the unmodified latents, so it reproduces the inputs.
function M.infoloss_grid(ctx, eps, seed)
    local model = ctx.model
    local L = model.cfg.scales
    local x = heldout_images(ctx, L, "information loss")
    local z = latent.encode(model, x)
    local rng = Rng.new(seed or 0)
    local columns = {}
    for k = 0, L - 1 do columns[k + 1] = latent.decode(model, latent.replace_finest(model, z, k, eps, rng)) end
    -- row-major: image r, column k
    local cells = {}
    for r = 1, L do
        for k = 1, L do cells[#cells + 1] = columns[k]:narrow(r, 1) end
    end
    return latent.concat(cells), L, x
end

function M.infoloss(ctx, opts)
    local noise, L = M.infoloss_grid(ctx, "noise", opts and opts.seed)
    local zero = M.infoloss_grid(ctx, "zero")
    return {M.save_grid(ctx, "viz_infoloss_noise.png", noise, L), M.save_grid(ctx, "viz_infoloss_zero.png", zero, L)}
end

--- The 8x8 manifold grid at phi'' = phi2: rows phi' = 2 pi i / 8, columns phi = 2 pi j / 8, over the
-- latents zs[1..8] of 8 held-out images. Returns an Images batch of 64.
function M.manifold_frame(ctx, zs, phi2)
    local z1 = zs[1]
    local z = T.empty{64, z1.shape[2], z1.shape[3], z1.shape[4]}
    for i = 0, 7 do
        for j = 0, 7 do
            latent.sphere(zs, 2 * math.pi * j / 8, 2 * math.pi * i / 8, phi2, z:narrow(8 * i + j + 1, 1))
        end
    end
    return latent.decode(ctx.model, z)
end

--- The manifold of 8 held-out images: the still grid (phi'' = 0) and M.MANIFOLD_FRAMES frames over
-- phi'' = 2 pi k / frames as a looping animation (opts.delay centiseconds per frame, default 10): a
-- GIF for gray models, an animated WebP for colour ones (opts.quality 0..100, < 0 lossless; default
-- nvp.viz.webp.DEFAULT_QUALITY). The other format's file, left by an earlier run, is removed.
function M.manifold(ctx, opts)
    opts = opts or {}
    local nframes = opts.frames or M.MANIFOLD_FRAMES
    local z = latent.encode(ctx.model, heldout_images(ctx, 8, "manifold"))
    local zs = {}
    for i = 1, 8 do zs[i] = latent.row(z, i) end
    local frames, width, height, channels
    for k = 0, nframes - 1 do
        local px, w, h, c = grid.tile(M.manifold_frame(ctx, zs, 2 * math.pi * k / nframes),
            {cols = 8, pad = PAD, background = BACKGROUND})
        if frames == nil then
            width, height, channels = w, h, c
            frames = ffi.new("uint8_t[?]", nframes * w * h * c)
        end
        ffi.copy(frames + k * w * h * c, px, w * h * c)
    end
    local still, anim = path_of(ctx, "viz_manifold.png"), path_of(ctx, M.manifold_animation(channels))
    local ok, err = png.write(still, frames, width, height, channels)
    if not ok then error(err, 0) end
    local delay = opts.delay or 10
    if channels == 1 then
        ok, err = gif.write(anim, frames, width, height, channels, nframes, {delay = delay})
    else
        ok, err = webp.write(anim, frames, width, height, channels, nframes, {delay = delay, quality = opts.quality})
    end
    if not ok then error(err, 0) end
    for _, other in ipairs(M.MANIFOLD_ANIMATIONS) do
        if path_of(ctx, other) ~= anim then os.remove(path_of(ctx, other)) end
    end
    return {still, anim}
end

--- A class-conditional model's samples, one row per class (Glow's ycond): opts.per_class (10) samples
-- of class k in row k + 1, z ~ N(0, T^2 I) at T = opts.temperature (0.7, as Glow's figures).
function M.classes(ctx, opts)
    opts = opts or {}
    local model = ctx.model
    if not model:is_conditional() then
        error("classes: the model is not class-conditional (it has no nn.ClassPrior)", 0)
    end
    local per_class, k = opts.per_class or 10, model.cfg.classes
    local z = latent.prior(model, Rng.new(opts.seed or 0), per_class * k, opts.temperature or 0.7)
    local previous = model.labels
    model:set_labels(setmetatable({}, {__index = function(_, i) return math.floor(i / per_class) end}))
    local ok, images = pcall(latent.decode, model, z)
    model:set_labels(previous)
    if not ok then error(images, 0) end
    return {M.save_grid(ctx, "viz_classes.png", images, per_class)}
end

--- Whether figure `name` exists for this model ("classes": for a class-conditional one only).
function M.applies(model, name)
    return name ~= "classes" or model:is_conditional()
end

--- Run one figure by name, or "all" (each in turn, those that apply to the model; one failing does not
-- stop the others). Returns the paths written and a {name -> message} table of the figures that failed.
function M.run(ctx, which, opts)
    local names = {which}
    if which == "all" then
        names = {}
        for _, name in ipairs(M.NAMES) do
            if M.applies(ctx.model, name) then names[#names + 1] = name end
        end
    end
    local written, failed = {}, {}
    for _, name in ipairs(names) do
        local fn = M.FILES[name] and M[name]
        if fn == nil then
            error(("figures: unknown figure '%s' (valid: all, %s)"):format(tostring(name), table.concat(M.NAMES, ", ")), 2)
        end
        local ok, result = pcall(fn, ctx, opts)
        if ok then
            for _, p in ipairs(result) do written[#written + 1] = p end
        else
            failed[name] = tostring(result):gsub("^[^:]*:%d+: ", "")
        end
    end
    return written, failed
end

return M
