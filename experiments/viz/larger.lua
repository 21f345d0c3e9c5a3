-- experiments/viz/larger.lua: samples twice (5x5 grid) and ten times (one image) the training
-- size, the model being convolutional; height=H width=W asks for one other size (9 samples).
--   build/nvp experiments/viz/larger.lua ckpt=runs/demo/last.safetensors [out=DIR seed=0 height=H width=W]
-- The figure is nvp.viz.figures.larger (lua/nvp/viz/figures.lua): copy it here to change it; no rebuild.
local opts = ...
local figures = require "nvp.viz.figures"
local ctx = figures.script_context(opts, "experiments/viz/larger.lua")
for _, path in ipairs(figures.larger(ctx, opts)) do print("wrote " .. path) end
