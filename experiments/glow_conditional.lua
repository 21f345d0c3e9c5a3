-- experiments/glow_conditional.lua: train a class-conditional recipe with the images' labels, then
-- report held-out bits/dim under p(x | y) and the accuracy of argmax_y p(x | y), and draw a grid of
-- one row per class. (nvp train does not pass labels to the model yet: this loop does.)
--   build/nvp experiments/glow_conditional.lua recipe=recipes/glow_fmnist_cond.lua minutes=10 \
--       heldout=2000 out=runs/glow_cond threads=1 [steps=N] [key=value overrides of the recipe: width=...]
-- Fashion-MNIST only (labels from its IDX files); writes OUT/last.safetensors (nvp sample ... class=K
-- reads it), OUT/classes.png and OUT/result.json.
local o = ...
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local recipe = require "nvp.recipe"
local run = require "nvp.run"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"
local fs = require "nvp.fs"
local json = require "nvp.json"
local clock = require "nvp.clock"
local fmnist = require "nvp.data.fashion_mnist"
local images_mod = require "nvp.data.images"
local grid = require "nvp.viz.grid"

nffi.check(nffi.C.nvp_set_threads(o.threads or 1))
local r = recipe.load(o.recipe or "recipes/glow_fmnist_cond.lua", {train = {steps = o.steps or 0}})
local out = o.out or "runs/glow_cond"
assert(fs.mkdir_p(out))
local train_x, train_y = fmnist.load("train", o.root)
if train_x == nil then error(train_y, 0) end
local test_x, test_y = fmnist.load("test", o.root)
if test_x == nil then error(test_y, 0) end
local dims = {channels = 1, height = 28, width = 28}
local model = run.build_model(r, dims)
assert(model:is_conditional(), "glow_conditional: the recipe's model has no nn.ClassPrior")
local opt = optim.Adam.new(model, {lr = r.train.lr, warmup = r.train.warmup, clip = r.train.clip, l2 = r.train.l2})
local B, D = r.train.batch, 784
local batch = ffi.new("uint8_t[?]", B * D)
local labels = ffi.new("uint8_t[?]", B)
local order_rng, noise = Rng.new(r.seed + 11), Rng.new(r.seed + 1)
print(("%s: %s, %d training images, batch %d"):format(r.name, tostring(model), train_x.count, B))
local started, step, last_print = clock(), 0, clock()
local minutes = o.minutes or 10
while true do
    if o.steps and step >= o.steps then break end
    if not o.steps and clock() - started >= minutes * 60 then break end
    for i = 0, B - 1 do
        local k = math.min(train_x.count - 1, math.floor(order_rng:random() * train_x.count))
        ffi.copy(batch + i * D, train_x.data + k * D, D)
        labels[i] = train_y.data[k]
    end
    local loss, bpd = model:loss(batch, B, noise, nil, labels)
    if loss == loss then
        model:zero_grad()
        model:backward()
        opt:step()
        step = step + 1
    end
    if clock() - last_print > 30 then
        print(("step %d, %.1f min: train %.3f bits/dim"):format(step, (clock() - started) / 60, bpd))
        last_print = clock()
    end
end
local train_minutes = (clock() - started) / 60

-- held-out: bits/dim under the true label and the accuracy of argmax_y p(x | y)
model:evaluate()
local count = math.min(o.heldout or 2000, test_x.count)
local eb = 250
local rng = Rng.new(r.seed + 1000003)
local correct, nll_sum = 0, 0
for first = 0, count - 1, eb do
    local n = math.min(eb, count - first)
    local by_class = model:class_nll(test_x.data + first * D, n, rng)
    for i = 0, n - 1 do
        local best, arg = math.huge, -1
        for k = 0, model.cfg.classes - 1 do
            local v = by_class[k].data[i]
            if v < best then best, arg = v, k end
        end
        local truth = test_y.data[first + i]
        if arg == truth then correct = correct + 1 end
        nll_sum = nll_sum + by_class[truth].data[i]
    end
end
local result = {recipe = r.path, steps = step, train_minutes = train_minutes, heldout_images = count,
                bits_per_dim_given_label = nll_sum / count / (D * math.log(2)), accuracy = correct / count}
print(json.encode(result))
assert(fs.write(out .. "/result.json", json.encode(result) .. "\n"))
assert(run.save(out .. "/last.safetensors", model, opt, {step = step}, r))

-- one row per class, 10 samples each, temperature 0.7
local per_row = 10
local px = model:sample(per_row * model.cfg.classes, Rng.new(2), 0.7, nil, nil,
    setmetatable({}, {__index = function(_, i) return math.floor(i / per_row) end}))
local ok, err = grid.save_png(out .. "/classes.png", images_mod.wrap(px, per_row * model.cfg.classes, 1, 28, 28),
    {cols = per_row, pad = 2, background = 255})
if not ok then error(err, 0) end
print("wrote " .. out .. "/classes.png")
