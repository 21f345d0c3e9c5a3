-- experiments/viz/infoloss.lua: information loss: column k decodes g(eps_1..eps_k, z_k+1..z_L) for
-- the first L held-out images (L scales); once with eps ~ N(0, I), once with eps = 0.
--   build/nvp experiments/viz/infoloss.lua ckpt=runs/demo/last.safetensors [out=DIR seed=0]
-- The figure is nvp.viz.figures.infoloss (lua/nvp/viz/figures.lua): copy it here to change it; no rebuild.
local opts = ...
local figures = require "nvp.viz.figures"
local ctx = figures.script_context(opts, "experiments/viz/infoloss.lua")
for _, path in ipairs(figures.infoloss(ctx, opts)) do print("wrote " .. path) end
