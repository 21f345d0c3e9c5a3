-- experiments/results_table.lua: the paper's Table 1, beside ours. For every recipe in recipes/ whose
-- data is present and whose run has a checkpoint, evaluate it on the split the paper reports (the
-- test set of CIFAR-10 and Fashion-MNIST, the validation set elsewhere: the recipe's held-out split),
-- and write one Markdown table. Rows without data or without a checkpoint say so and what to run.
--
--   build/nvp experiments/results_table.lua [out=experiments/results/table1.md] [draws=1]
--       [bn_images=N]                      also evaluate after fixing batch-norm statistics on N training images
--       [images=N]                         evaluate only the first N held-out images (quick look)
--       [ckpt.fashion_mnist=runs/fashion_mnist_60min/best.safetensors ...]   a checkpoint per recipe
--                                          (default: runs/<recipe name>/best.safetensors)
local opts = ... or {}
local recipe = require "nvp.recipe"
local run = require "nvp.run"
local dataset = require "nvp.data.dataset"
local evaluate = require "nvp.evaluate"
local bn_stats = require "nvp.bn_stats"
local fs = require "nvp.fs"
local lfs = require "lfs"

local out = opts.out or "experiments/results/table1.md"
local draws = opts.draws or 1
local ckpts = opts.ckpt or {}

-- Real NVP's bits/dim in Table 1 of Dinh et al. (2017), by recipe name.
local PAPER = {
    cifar10 = {3.49, "CIFAR-10 (test)"},
    imagenet32 = {4.28, "ImageNet 32x32 (validation)"},
    imagenet64 = {3.98, "ImageNet 64x64 (validation)"},
    lsun_bedroom = {2.72, "LSUN bedroom (validation)"},
    lsun_tower = {2.81, "LSUN tower (validation)"},
    lsun_church_outdoor = {3.08, "LSUN church outdoor (validation)"},
    celeba = {3.02, "CelebA (validation)"},
    fashion_mnist = {nil, "Fashion-MNIST (test)"},
}
local ORDER = {"cifar10", "imagenet32", "imagenet64", "lsun_bedroom", "lsun_tower", "lsun_church_outdoor", "celeba",
               "fashion_mnist"}
local NOTES = {
    cifar10 = "the shared CIFAR-10 copy is rebuilt from JPEG (docs/data.md): JPEG artefacts change "
        .. "the distribution, so its bits/dim is not comparable to the paper's 3.49",
    fashion_mnist = "not in the paper; the peer's fmnist-small reached 3.558 after 60 minutes here",
}

local function fmt(x) return x and ("%.3f"):format(x) or "—" end

local rows = {}
for _, name in ipairs(ORDER) do
    local path = "recipes/" .. name .. ".lua"
    local row = {name = name, paper = PAPER[name][1], what = PAPER[name][2]}
    rows[#rows + 1] = row
    if not fs.exists(path) then
        row.status = "no recipe"
    else
        local r = recipe.load(path, {})
        local ds, err = dataset.open(r.data)
        local ckpt = ckpts[name] or ("runs/" .. r.name .. "/best.safetensors")
        row.ckpt = ckpt
        if ds == nil then
            row.status = "data missing: " .. err:gsub("\n.*", ""):gsub(";.*", "") .. (" (see %s)"):format(path)
        elseif not fs.exists(ckpt) then
            row.status = ("no checkpoint at %s (train: `build/nvp train %s`)"):format(ckpt, path)
        else
            local ck
            ck, err = run.open(ckpt)
            if ck == nil then error(err, 0) end
            local heldout = ds.heldout
            if opts.images and opts.images < heldout.count then heldout = heldout:narrow(1, opts.images) end
            io.write(("%s: evaluating %s on %d images ... "):format(name, ckpt, heldout.count))
            io.stdout:flush()
            row.ours = evaluate.bits_per_dim(ck.model, heldout, {batch = r.eval.batch, draws = draws, seed = r.seed})
            if opts.bn_images then
                bn_stats.recalibrate(ck.model, ds.train, {images = opts.bn_images, seed = r.seed})
                row.fixed = evaluate.bits_per_dim(ck.model, heldout, {batch = r.eval.batch, draws = draws, seed = r.seed})
            end
            row.images, row.step = heldout.count, ck.meta["nvp.step"]
            row.minutes = tonumber(ck.meta["nvp.train_seconds"] or "0") / 60
            print(fmt(row.ours))
            row.status = ("step %s, %.0f min of training, %d images"):format(row.step, row.minutes, row.images)
        end
    end
end

local command = "build/nvp experiments/results_table.lua"
for i = 2, #arg do command = command .. " " .. arg[i] end
local lines = {
    "# Table 1 of the paper, beside nvp",
    "",
    ("Written %s by `%s`. Bits/dim on the held-out split the paper reports, %d dequantisation draw%s per image."):format(
        os.date("!%Y-%m-%d %H:%M UTC"), command, draws, draws == 1 and "" or "s"),
    "",
    opts.bn_images and ("| dataset | paper (Real NVP) | nvp | nvp, batch norm fixed on %d training images | run |")
        :format(opts.bn_images) or "| dataset | paper (Real NVP) | nvp | run |",
    opts.bn_images and "| --- | --- | --- | --- | --- |" or "| --- | --- | --- | --- |",
}
for _, row in ipairs(rows) do
    if opts.bn_images then
        lines[#lines + 1] = ("| %s | %s | %s | %s | %s |"):format(row.what, fmt(row.paper), fmt(row.ours), fmt(row.fixed),
            row.status)
    else
        lines[#lines + 1] = ("| %s | %s | %s | %s |"):format(row.what, fmt(row.paper), fmt(row.ours), row.status)
    end
end
lines[#lines + 1] = ""
for _, row in ipairs(rows) do
    if NOTES[row.name] then lines[#lines + 1] = ("- %s: %s."):format(row.what, NOTES[row.name]) end
end
local text = table.concat(lines, "\n") .. "\n"
local dir = out:match("^(.*)/[^/]*$")
if dir then lfs.mkdir(dir) end
assert(fs.write(out, text))
io.write(text)
print("wrote " .. out)
