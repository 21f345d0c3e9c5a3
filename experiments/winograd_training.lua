-- winograd_training.lua: does a large Winograd tile's float32 error change training? Trains a recipe
-- with the conv algorithm forced (alg = an nvp_conv_algorithm: 6 = F(4x4)) or left to the rules
-- (alg=0: F(7x7) on fmnist_small's 14x14 and 28x28 convs, F(8x8) on cifar_ref's 16x16 and 32x32 with
-- AVX-512), same seed; compare the runs' held-out bits/dim (the last line, and run.dir/metrics.jsonl).
-- Keys with a dot are recipe overrides (model.blocks=2: a smaller model with the same planes).
--
--   build/nvp experiments/winograd_training.lua alg=6 steps=400 dir=/tmp/f4run
--   build/nvp experiments/winograd_training.lua alg=0 steps=400 dir=/tmp/f7run
--   build/nvp experiments/winograd_training.lua recipe=recipes/cifar_ref.lua model.blocks=2 alg=6 steps=300 dir=/tmp/c4
local nffi = require "nvp.ffi"
local o = ... or {}
assert(o.dir, "winograd_training: dir=PATH (the run directory) is required")
nffi.check(nffi.C.nvp_set_conv_algorithm(o.alg or 0))
-- the recipe overrides: every nested key (model.blocks=2 -> o.model.blocks), then the run's own
local overrides = {}
for k, v in pairs(o) do
    if type(v) == "table" then overrides[k] = v end
end
overrides.train = overrides.train or {}
overrides.train.steps = o.steps or 400
overrides.run = overrides.run or {}
overrides.run.dir = o.dir
overrides.seed = o.seed or 1
return require("nvp.cmd.train").run_recipe(o.recipe or "recipes/fmnist_small.lua", overrides)
