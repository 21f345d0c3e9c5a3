-- nvp.data.celeba: CelebA (Liu et al. 2015), the aligned-and-cropped images: root/img_align_celeba/
-- (202,599 JPEG files of 218x178) and root/list_eval_partition.txt ("000001.jpg 0" per line: 0 train
-- 162,770, 1 valid 19,867, 2 test 19,962), as the original code's README has them. Each split is
-- decoded once, cropped to rows 40:188 and columns 15:163 and resized to 64x64 (preprocess.lua), into
-- a packed cache. The paper's number is on the validation split; the original README evaluates both.
local pack = require "nvp.data.pack"
local preprocess = require "nvp.data.preprocess"
local lfs = require "lfs"

local M = {}

M.URL = "http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Img/img_align_celeba.zip and "
    .. "Eval/list_eval_partition.txt)"
M.SPLITS = {train = "0", valid = "1", test = "2"}

--- The partition file's entries of one split, in file order: a list of names, or nil, message.
function M.read_partition(path, split)
    local f, err = io.open(path, "r")
    if f == nil then return nil, err end
    local want, names, line_no = M.SPLITS[split], {}, 0
    for line in f:lines() do
        line_no = line_no + 1
        if line:match("%S") then
            local name, part = line:match("^%s*(%S+)%s+([012])%s*$")
            if name == nil then
                f:close()
                return nil, ("%s:%d: expected 'FILE.jpg 0|1|2', got '%s'"):format(path, line_no, line:sub(1, 80))
            end
            if part == want then names[#names + 1] = name end
        end
    end
    f:close()
    return names
end

--- Load one split ("train", "valid" or "test"): an Images view (N, 3, 64, 64) of its cache, or nil, message.
function M.load(split, cfg, say)
    if M.SPLITS[split] == nil then
        return nil, ("celeba: unknown split '%s' (train, valid, test)"):format(tostring(split))
    end
    local partition = cfg.root .. "/list_eval_partition.txt"
    local dir = cfg.root .. "/img_align_celeba"
    local function missing(what)
        return nil, ("%s; CelebA is expected as %s/ (the 218x178 JPEG files) and %s; it is published at %s")
            :format(what, dir, partition, M.URL)
    end
    if lfs.attributes(dir, "mode") ~= "directory" then return missing(dir .. ": not found") end
    local names, err = M.read_partition(partition, split)
    if names == nil then return missing(partition .. ": " .. tostring(err)) end
    if #names == 0 then return nil, ("%s: no file of split '%s' (%s)"):format(partition, split, M.SPLITS[split]) end
    local files = {}
    for i, name in ipairs(names) do
        local path = dir .. "/" .. name
        local size = lfs.attributes(path, "size")
        if size == nil then
            return missing(("%s: not found (listed in %s, split %s; %d files of the split)"):format(path,
                partition, split, #names))
        end
        files[i] = {path = path, name = name, size = size}
    end
    -- A partition file that names a file twice would pack it twice: refuse it.
    local seen = {}
    for _, f in ipairs(files) do
        if seen[f.name] then return nil, ("%s: %s is listed twice"):format(partition, f.name) end
        seen[f.name] = true
    end
    local p
    p, err = pack.ensure{path = ("%s/celeba-%s.nvppack"):format(cfg.cache, split), files = files,
                         decode = preprocess.DATASETS.celeba.decode, bad = cfg.bad_images, say = say}
    if p == nil then return nil, err end
    return p:images()
end

return M
