-- experiments/viz/interpolate.lua: a custom figure as a script (no recompilation): decode the latents
-- on the arc z(t) = cos(t pi/2) z_a + sin(t pi/2) z_b between two held-out images a and b.
--   build/nvp experiments/viz/interpolate.lua ckpt=runs/demo/last.safetensors a=1 b=2 steps=10
local o = ...
local figures, latent = require "nvp.viz.figures", require "nvp.viz.latent"
local ctx = figures.script_context(o, "experiments/viz/interpolate.lua")
local x = assert(ctx.heldout())
local za, zb = latent.encode(ctx.model, x:narrow(o.a or 1, 1)), latent.encode(ctx.model, x:narrow(o.b or 2, 1))
local steps, row = o.steps or 10, {}
for i = 0, steps - 1 do
    local t = i / (steps - 1) * math.pi / 2
    row[#row + 1] = latent.decode(ctx.model, latent.mix{{math.cos(t), za}, {math.sin(t), zb}})
end
print("wrote " .. figures.save_grid(ctx, "interpolate.png", latent.concat(row), steps))
