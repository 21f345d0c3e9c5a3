-- nvp.data.cifar10: CIFAR-10 (Krizhevsky 2009) in its "binary version": 3x32x32 images, labels 0-9
-- (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck), decoded by the engine
-- (nvp_cifar_read, engine/src/io/cifar.c).
--
--   local cifar10 = require "nvp.data.cifar10"
--   local images, labels = cifar10.load("train")   -- Images (50000,3,32,32), {data = uint8_t*, count}
--   if images == nil then error(labels) end        -- labels is then the message
--
-- Splits: "train" (data_batch_1..5, 50,000 images, concatenated in that order), "test" (test_batch,
-- 10,000) and "orig4000" (orig4000.bin: 4,000 lossless originals of data_batch_1's first records,
-- looked for in root and in root/../cifar10-orig4000, as ../shared/data lays them out, docs/data.md).
-- Each file may be gzip'd (name.bin.gz) or plain (name.bin, as in the cifar-10-binary.tar.gz download).
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local images = require "nvp.data.images"
local C = nffi.C

local M = {}

M.DEFAULT_ROOT = "../shared/data/cifar10"
M.URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
M.CLASSES = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
M.FILES = {
    train = {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"},
    test = {"test_batch"},
    orig4000 = {"orig4000"},
}
-- Extra directories (relative to root) searched for a split's files.
M.SUBDIRS = {orig4000 = {"", "/../cifar10-orig4000"}}

local function exists(path)
    local f = io.open(path, "rb")
    if f == nil then return false end
    f:close()
    return true
end

-- The path of one file (NAME.bin.gz or NAME.bin in any of the split's directories), or nil.
local function find_file(root, split, name)
    for _, sub in ipairs(M.SUBDIRS[split] or {""}) do
        for _, ext in ipairs{".bin.gz", ".bin"} do
            local path = root .. sub .. "/" .. name .. ext
            if exists(path) then return path end
        end
    end
    return nil
end

--- Load one split: images (uint8, N x 3 x 32 x 32, an nvp.data.images Images) and labels
-- ({data = uint8_t* (gc'd), count = N}), or nil, message when files are missing or corrupt.
function M.load(split, root)
    root = root or M.DEFAULT_ROOT
    local names = M.FILES[split]
    if names == nil then
        error(("cifar10: unknown split '%s' (valid: train, test, orig4000)"):format(tostring(split)), 2)
    end
    local paths = {}
    for i, name in ipairs(names) do
        paths[i] = find_file(root, split, name)
        if paths[i] == nil then
            return nil, ("%s/%s.bin.gz: not found; CIFAR-10 (binary version: %s.bin, gzip'd or plain) is expected "
                .. "in %s; it is published by Alex Krizhevsky, University of Toronto, at %s"):format(root, name,
                table.concat(names, ".bin, "), root, M.URL)
        end
    end
    local cpaths = ffi.new("const char *[?]", #paths)
    for i, p in ipairs(paths) do cpaths[i - 1] = p end
    local raw = ffi.new("nvp_images")
    local labels = ffi.new("uint8_t *[1]")
    local ok, err = nffi.try(C.nvp_cifar_read(raw, labels, cpaths, #paths))
    if not ok then return nil, err end
    local imgs = images.adopt(raw)
    -- `paths` holds the strings cpaths points to until here
    assert(#paths == #names)
    return imgs, {data = ffi.gc(labels[0], C.nvp_free), count = imgs.count}
end

return M
