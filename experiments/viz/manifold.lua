-- experiments/viz/manifold.lua: the manifold of 8 held-out images' latents: an 8x8 grid over
-- phi, phi' (steps of 2 pi/8) at phi'' = 0 as a PNG, and 40 frames over phi'' as a looping animation
-- (a GIF for gray models, an animated WebP for colour ones: quality=90, -1 for lossless).
--   build/nvp experiments/viz/manifold.lua ckpt=runs/demo/last.safetensors [out=DIR frames=40 delay=10 quality=90]
-- The figure is nvp.viz.figures.manifold (lua/nvp/viz/figures.lua): copy it here to change it; no rebuild.
local opts = ...
local figures = require "nvp.viz.figures"
local ctx = figures.script_context(opts, "experiments/viz/manifold.lua")
for _, path in ipairs(figures.manifold(ctx, opts)) do print("wrote " .. path) end
