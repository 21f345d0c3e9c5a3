-- winograd_f7_training.lua: does F(7x7)'s larger float32 error change training? Trains a recipe
-- (default recipes/fmnist_small.lua, whose 14x14 and 28x28 convs the router gives F(7x7)) with the
-- conv algorithm forced to F(4x4) (alg=6) or left to the rules (alg=0), same seed; compare the
-- runs' held-out bits/dim (the last line, and run.dir/metrics.jsonl).
--
--   build/nvp experiments/winograd_f7_training.lua alg=6 steps=400 dir=/tmp/f4run
--   build/nvp experiments/winograd_f7_training.lua alg=0 steps=400 dir=/tmp/f7run
local nffi = require "nvp.ffi"
local o = ... or {}
assert(o.dir, "winograd_f7_training: dir=PATH (the run directory) is required")
nffi.check(nffi.C.nvp_set_conv_algorithm(o.alg or 0))
local overrides = require("nvp.cli").parse_overrides({"train.steps=" .. (o.steps or 400), "run.dir=" .. o.dir,
                                                        "seed=" .. (o.seed or 1)})
return require("nvp.cmd.train").run_recipe(o.recipe or "recipes/fmnist_small.lua", overrides)
