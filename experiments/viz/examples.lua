-- experiments/viz/examples.lua: a 10x10 grid of held-out images.
--   build/nvp experiments/viz/examples.lua ckpt=runs/demo/last.safetensors [out=DIR n=100]
-- The figure is nvp.viz.figures.examples (lua/nvp/viz/figures.lua): copy it here to change it; no rebuild.
local opts = ...
local figures = require "nvp.viz.figures"
local ctx = figures.script_context(opts, "experiments/viz/examples.lua")
for _, path in ipairs(figures.examples(ctx, opts)) do print("wrote " .. path) end
