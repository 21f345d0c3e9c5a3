-- A tiny trained model and its data for the likelihood specs (spec/recipes/likelihood_*_spec.lua):
-- synthetic Fashion-MNIST-shaped IDX files of 8x8 images and a few training steps, in a temp dir.
--   local fixture = dofile("spec/recipes/likelihood_fixture.lua")
--   local f = fixture.make()   -- {dir, ckpt, test_idx, recipe}; fixture.remove(f)
local recipe = require "nvp.recipe"
local train = require "nvp.train"

local M = {}

local function be32(n)
    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

-- count images of 8x8: a bright square at a position that depends on the index, on noise.
function M.write_idx(path, count, seed)
    local bytes = {}
    local state = seed
    for k = 0, count - 1 do
        local px = {}
        local ox, oy = k % 4, math.floor(k / 4) % 4
        for y = 0, 7 do
            for x = 0, 7 do
                state = (state * 1103515245 + 12345) % 2147483648
                local v = state % 40
                if x >= ox and x < ox + 4 and y >= oy and y < oy + 4 then v = 200 + state % 56 end
                px[#px + 1] = string.char(v)
            end
        end
        bytes[#bytes + 1] = table.concat(px)
    end
    local f = assert(io.open(path, "wb"))
    f:write(be32(0x803), be32(count), be32(8), be32(8), table.concat(bytes))
    f:close()
    local labels = assert(io.open((path:gsub("images%-idx3", "labels-idx1")), "wb"))
    labels:write(be32(0x801), be32(count), ("\0"):rep(count))
    labels:close()
end

M.TEXT = [[return {name = "lk", data = {dataset = "fashion_mnist"}, model = {scales = 2, width = 4, blocks = 1},
                   train = {batch = 16, lr = 3e-3, log_every = 5, checkpoint_every_minutes = 1000},
                   eval = {batch = 32}, sample = {n = 4}}]]

function M.make(steps)
    local dir = tmpdir()
    M.write_idx(dir .. "/train-images-idx3-ubyte", 256, 1)
    M.write_idx(dir .. "/t10k-images-idx3-ubyte", 40, 2)
    os.execute(("gzip -nf %s/train-images-idx3-ubyte %s/train-labels-idx1-ubyte %s/t10k-images-idx3-ubyte "
        .. "%s/t10k-labels-idx1-ubyte"):format(dir, dir, dir, dir))
    local r = recipe.from_text(M.TEXT, "lk.lua", {data = {root = dir}, run = {dir = dir .. "/run"},
                                                  train = {steps = steps or 20}})
    train.run(r, {quiet = true})
    return {dir = dir, ckpt = dir .. "/run/last.safetensors", test_idx = dir .. "/t10k-images-idx3-ubyte.gz",
            recipe = r}
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
