-- experiments/train_curve.lua: train a recipe for a fixed budget of training minutes, evaluating
-- held-out bits/dim every `every` minutes (on the full held-out split), and write the curve as a
-- Markdown table beside the PyTorch peer's (docs/REFERENCE.md's fmnist-small: 4.05 at 15 min, 3.89 at 30,
-- 3.61 at 45, 3.558 at 60 on the full Fashion-MNIST test set, same 2-core machine).
--
--   build/nvp experiments/train_curve.lua recipe=recipes/fashion_mnist.lua minutes=60 every=15 \
--       out=experiments/results/fashion_mnist_60min.md [run=runs/curve] [any.recipe.key=value ...]
local opts = ... or {}
local ffi = require "ffi"
local json = require "nvp.json"
local recipe = require "nvp.recipe"
local train = require "nvp.train"
local fs = require "nvp.fs"
local nffi = require "nvp.ffi"

local path = opts.recipe or "recipes/fashion_mnist.lua"
local minutes, every = opts.minutes or 60, opts.every or 15
local out = opts.out or "experiments/results/fashion_mnist_60min.md"
local run_dir = opts.run or "runs/curve"

-- Everything else on the command line is a recipe override.
local overrides = {}
for k, v in pairs(opts) do
    if k ~= "recipe" and k ~= "minutes" and k ~= "every" and k ~= "out" and k ~= "run" then overrides[k] = v end
end
overrides.train = overrides.train or {}
overrides.train.minutes, overrides.train.eval_every_minutes = minutes, every
overrides.run = {dir = run_dir, resume = false}
os.remove(run_dir .. "/last.safetensors")
os.remove(run_dir .. "/best.safetensors")
os.remove(run_dir .. "/metrics.jsonl")

-- arg[1] is this script's path, the words after it are ours
local command = "build/nvp experiments/train_curve.lua"
for i = 2, #arg do command = command .. " " .. arg[i] end
local r = recipe.load(path, overrides)
local result = train.run(r)

local PEER = {[15] = 4.05, [30] = 3.89, [45] = 3.61, [60] = 3.558}
local rows = {}
for line in io.lines(run_dir .. "/metrics.jsonl") do
    local m = json.decode(line)
    if m and m.kind == "eval" then
        local at = m.minutes or minutes
        rows[#rows + 1] = ("| %.1f | %d | %.4f | %s |"):format(at, m.step, m.heldout_bpd,
            PEER[math.floor(at + 0.5)] and tostring(PEER[math.floor(at + 0.5)]) or "")
    end
end
local text = table.concat({
    ("# %s: held-out bits/dim against training time"):format(path), "",
    ("Date: %s. Command (from the repository root): `%s`"):format(os.date("!%Y-%m-%d %H:%M UTC"), command), "",
    ("Machine: %s, %d threads (`nvp --version`); model: %s; final: step %d, %.4f bits/dim on %s."):format(
        ffi.string(nffi.C.nvp_cpu_path()), nffi.C.nvp_get_threads(), r.model.width .. " maps, " .. r.model.blocks
        .. " blocks, " .. r.model.scales .. " scales", result.step or 0, result.heldout_bpd or 0 / 0,
        r.data.heldout == "test" and "the full test set" or "the held-out split"), "",
    "Minutes count training only (evaluations pause the clock). The peer column is the PyTorch",
    "fmnist-small run of docs/REFERENCE.md (Adam 1e-3, batch 64) on the same machine.", "",
    "| training minutes | step | held-out bits/dim | PyTorch peer |",
    "| --- | --- | --- | --- |",
    table.concat(rows, "\n"), "",
}, "\n")
assert(fs.mkdir_p(out:match("^(.*)/[^/]*$") or "."))
assert(fs.write(out, text))
print(text)
