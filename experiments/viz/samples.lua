-- experiments/viz/samples.lua: z ~ N(0, T^2 I) as a 10x10 grid, and a temperature strip
-- (columns T = 0, 0.25, 0.5, 0.7, 0.85, 1; rows: the same noise at each T).
--   build/nvp experiments/viz/samples.lua ckpt=runs/demo/last.safetensors [out=DIR seed=0 temperature=1]
-- The figure is nvp.viz.figures.samples (lua/nvp/viz/figures.lua): copy it here to change it; no rebuild.
local opts = ...
local figures = require "nvp.viz.figures"
local ctx = figures.script_context(opts, "experiments/viz/samples.lua")
for _, path in ipairs(figures.samples(ctx, opts)) do print("wrote " .. path) end
