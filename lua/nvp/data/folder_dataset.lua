-- nvp.data.folder_dataset: any folder of PNG or JPEG images as a dataset (data.dataset = "folder").
--
--   data = {dataset = "folder", root = "/photos", size = 64, channels = 3, heldout = "test", flip = true}
--
-- Layout: root/train/ holds the training images and root/test/ (or root/valid/, as data.heldout says)
-- the held-out ones, each searched recursively in a fixed order (nvp.data.folder). Every image is
-- decoded once into a packed cache (data.cache) with its smaller side brought to data.size (the LSUN
-- reduction of preprocess.lua: Gaussian smoothing, then bilinear resampling; a smaller image is
-- enlarged), in data.channels channels (1 = grey, 3 = RGB; conversions by the decoders). Training
-- takes a random size x size crop of each image per step, evaluation the central crop; square images
-- of exactly size x size are used whole, with no crop drawn. Corrupt files are refused or skipped by
-- name (data.bad_images).
local folder = require "nvp.data.folder"
local pack = require "nvp.data.pack"

local M = {}

M.SPLITS = {train = "train", test = "test", valid = "valid"}

local function crop_source(p, side)
    return {pack = p, count = p.count, channels = p.channels, height = side, width = side, crop = "random",
            image_bytes = function(self) return self.channels * self.height * self.width end}
end

--- Load one split ("train", "test" or "valid") of cfg.root: Images or a crop source, or nil, message.
function M.load(split, cfg, say)
    local sub = M.SPLITS[split]
    if sub == nil then return nil, ("folder: no '%s' split (train, test, valid)"):format(tostring(split)) end
    local side, channels = cfg.size, cfg.channels
    if side == nil or side < 1 then
        return nil, "data.size: a folder dataset needs the image side the model trains on (data.size=64, say)"
    end
    if channels ~= 1 and channels ~= 3 then
        return nil, ("data.channels: %s; a folder dataset has 1 (grey) or 3 (RGB) channels"):format(tostring(channels))
    end
    if cfg.root == "" then
        return nil, "data.root: a folder dataset needs the folder (data.root=DIR holding train/ and test/ or valid/)"
    end
    local dir = cfg.root .. "/" .. sub
    local files, err = folder.list(dir)
    if files == nil or #files == 0 then
        return nil, ("%s; a folder dataset expects PNG or JPEG files under %s/train and %s/%s (searched "
            .. "recursively)"):format(files and dir .. ": no image files" or err, cfg.root, cfg.root,
            split == "train" and "test" or sub)
    end
    -- The cache is named after the folder, so two folder datasets never share one.
    local key = (cfg.root:gsub("[^%w]+", "_"):gsub("^_+", ""))
    local decode = {channels = channels, smallest_side = side}
    local p
    p, err = pack.ensure{path = ("%s/folder-%s-%s-%dc%d.nvppack"):format(cfg.cache, key, sub, channels, side),
                         files = files, decode = decode, bad = cfg.bad_images, say = say}
    if p == nil then return nil, err end
    if p.height == side and p.width == side then return p:images() end
    if split == "train" then return crop_source(p, side) end
    return p:crops(side, side)
end

return M
