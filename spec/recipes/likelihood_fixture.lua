-- A tiny trained model and its data for the likelihood specs (spec/recipes/likelihood_*_spec.lua):
-- synthetic Fashion-MNIST-shaped IDX files of 8x8 images and a few training steps, in a temp dir.
--   local fixture = dofile("spec/recipes/likelihood_fixture.lua")
--   local f = fixture.make()   -- {dir, ckpt, test_idx, recipe}; fixture.remove(f)
--   local f, ck, images = fixture.open(20)   -- the same, its checkpoint in evaluation mode, the test images
--   fixture.open(20, fixture.GLOW_TEXT)      -- a tiny Glow instead
local recipe = require "nvp.recipe"
local train = require "nvp.train"

local data = dofile("spec/reliability/fixture.lua") -- the 8x8 IDX set every training spec uses

local M = {}

M.TEXT = [[return {name = "lk", data = {dataset = "fashion_mnist"}, model = {scales = 2, width = 4, blocks = 1},
                   train = {batch = 16, lr = 3e-3, log_every = 5, checkpoint_every_minutes = 1000},
                   eval = {batch = 32}, sample = {n = 4}}]]

-- A tiny Glow with every layer nvp.compress codes: actnorm, both 1x1 convolutions, the three coupling
-- kinds (the split prior's gaussian one), the top prior; 1x8x8 -> 4x4x4, then 8x2x2 after the factor-out.
M.GLOW_TEXT = [[return {name = "lkglow", data = {dataset = "fashion_mnist"},
    model = function(nn)
        local level1 = nn.Sequence{nn.Squeeze{order = "A"}, nn.ActNorm{}, nn.InvConv1x1{lu = true},
            nn.GlowCoupling{kind = "affine", parity = 0, net = nn.ConvNet{width = 4}}, nn.ActNorm{},
            nn.InvConv1x1{lu = false}, nn.GlowCoupling{kind = "additive", parity = 1, net = nn.ConvNet{width = 4}},
            nn.Squeeze{order = "A", inverse = true}, nn.SplitPrior{}}
        local level2 = nn.Sequence{nn.Squeeze{order = "A"}, nn.ActNorm{}, nn.InvConv1x1{lu = true},
            nn.GlowCoupling{kind = "affine", parity = 1, net = nn.ConvNet{width = 4}},
            nn.Squeeze{order = "A", inverse = true}, nn.TopPrior{}}
        return nn.MultiScale{level1, level2}
    end,
    train = {batch = 16, lr = 3e-3, log_every = 5, checkpoint_every_minutes = 1000},
    eval = {batch = 32}, sample = {n = 4}}]]

--- make(steps, text): text is a recipe's text (M.TEXT, the default, or M.GLOW_TEXT).
function M.make(steps, text)
    local dir = tmpdir()
    data.write_dataset(dir, 256, 40)
    local r = recipe.from_text(text or M.TEXT, "lk.lua", {data = {root = dir}, run = {dir = dir .. "/run"},
                                                  train = {steps = steps or 20}})
    train.run(r, {quiet = true})
    return {dir = dir, ckpt = dir .. "/run/last.safetensors", test_idx = dir .. "/t10k-images-idx3-ubyte.gz",
            recipe = r}
end

--- make(steps, text), then the checkpoint opened (its model in evaluation mode) and the held-out images.
function M.open(steps, text)
    local f = M.make(steps, text)
    local ck = assert(require("nvp.run").open(f.ckpt))
    ck.model:evaluate()
    return f, ck, assert(require("nvp.data.idx").read_images(f.test_idx))
end

function M.remove(f)
    os.execute("rm -rf " .. f.dir)
end

--- Run a command line; returns its output (stdout and stderr) and exit code.
function M.sh(cmdline)
    local p = io.popen(cmdline .. " 2>&1; echo \"rc=$?\"")
    local out = p:read("*a")
    p:close()
    local rc = tonumber(out:match("rc=(%d+)%s*$"))
    return (out:gsub("rc=%d+%s*$", "")), rc
end

return M
