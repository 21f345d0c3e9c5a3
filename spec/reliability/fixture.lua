-- spec/reliability/fixture.lua: a tiny Fashion-MNIST-shaped dataset and recipe for the reliability
-- specs and experiments/kill_test.lua (dofile'd; not a spec). Images are 8x8: a bright 4x4 square
-- whose position depends on the index, on noise, so a small model learns within a few steps.
local M = {}

local function be32(n)
    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256,
        n % 256)
end
M.be32 = be32

local function write_file(path, ...)
    local f = assert(io.open(path, "wb"))
    f:write(...)
    f:close()
end

-- IDX images and labels of `count` 8x8 images at dir/<prefix>-images-idx3-ubyte(.gz).
local function write_split(dir, prefix, count, seed)
    local px, state = {}, seed
    for k = 0, count - 1 do
        local ox, oy = k % 4, math.floor(k / 4) % 4
        for y = 0, 7 do
            for x = 0, 7 do
                state = (state * 1103515245 + 12345) % 2147483648
                local v = state % 40
                if x >= ox and x < ox + 4 and y >= oy and y < oy + 4 then v = 200 + state % 56 end
                px[#px + 1] = string.char(v)
            end
        end
    end
    write_file(("%s/%s-images-idx3-ubyte"):format(dir, prefix), be32(0x803), be32(count), be32(8), be32(8),
        table.concat(px))
    write_file(("%s/%s-labels-idx1-ubyte"):format(dir, prefix), be32(0x801), be32(count), ("\0"):rep(count))
end

--- Write the dataset (gzip'd, as the real one is) into dir, which must exist.
function M.write_dataset(dir, train_count, test_count)
    write_split(dir, "train", train_count or 512, 1)
    write_split(dir, "t10k", test_count or 64, 2)
    assert(os.execute(("gzip -nf %s/train-images-idx3-ubyte %s/train-labels-idx1-ubyte "
        .. "%s/t10k-images-idx3-ubyte %s/t10k-labels-idx1-ubyte"):format(dir, dir, dir, dir)) == 0)
end

-- Checkpoints after every step, no evaluation until the end: every kill has a fair chance of
-- landing in a checkpoint write.
M.RECIPE = [[return {name = "rel", data = {dataset = "fashion_mnist"}, model = {scales = 2, width = 4, blocks = 1},
    train = {batch = 16, lr = 3e-3, log_every = 5, checkpoint_every_minutes = 0, minutes = 0},
    eval = {batch = 32}, sample = {n = 0}, threads = 1}
]]

--- Write the recipe to path; returns path.
function M.write_recipe(path, text)
    write_file(path, text or M.RECIPE)
    return path
end

--- The nvp executable of this process (readlink in a child would name the child).
function M.nvp_exe()
    local ffi = require "ffi"
    pcall(ffi.cdef, "int getpid(void);")
    local p = io.popen("readlink /proc/" .. ffi.C.getpid() .. "/exe")
    local path = p:read("*l")
    p:close()
    return path
end

--- Run a shell command; returns its exit code and its output (stdout and stderr).
function M.run(cmd)
    local p = io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
    local out = p:read("*a")
    p:close()
    local code = tonumber(out:match("exit=(%d+)\n?$"))
    return code, (out:gsub("exit=%d+\n?$", ""))
end

--- Run a shell command; returns its exit code and what it wrote to stderr (stdout is dropped).
function M.run_stderr(cmd)
    return M.run("(" .. cmd .. ") 2>&1 > /dev/null")
end

return M
