-- nvp.data.lsun: LSUN scene categories (Yu et al. 2015) exported as image folders, as the original
-- code's README does it: `python data.py export CATEGORY_train_lmdb --out_dir CATEGORY_train --flat`
-- (github.com/fyu/lsun; the files are JPEG data named .webp) for the train and val databases, under
-- one root: root/bedroom_train/, root/bedroom_val/ (300 images), tower_*, church_outdoor_*.
-- Each folder is decoded once, reduced so that its smaller side is 96 (preprocess.lua) and packed with
-- the images' own sizes. Training draws a random 64x64 crop and flip per image and step (nvp.data.loader);
-- evaluation uses the central 64x64 crops, materialized in memory.
local folder = require "nvp.data.folder"
local pack = require "nvp.data.pack"
local preprocess = require "nvp.data.preprocess"

local M = {}

M.URL = "https://www.yf.io/p/lsun (download and export with https://github.com/fyu/lsun: "
    .. "download.py -c CATEGORY, then data.py export CATEGORY_train_lmdb --out_dir CATEGORY_train --flat)"
M.CATEGORIES = {bedroom = true, tower = true, church_outdoor = true}
local FOLDERS = {train = "%s_train", valid = "%s_val"}
local CROP = 64

--- A training source of random crops: {pack, count, channels, height, width, crop = "random"}; the
-- loader draws the crops (nvp.data.loader).
local function crop_source(p)
    return {pack = p, count = p.count, channels = p.channels, height = CROP, width = CROP, crop = "random",
            image_bytes = function(self) return self.channels * self.height * self.width end}
end

--- Load one split of a category: "train" -> a crop source, "valid" -> Images of central crops; or nil, message.
function M.load(category, split, cfg, say)
    if not M.CATEGORIES[category] then return nil, ("lsun: unknown category '%s'"):format(tostring(category)) end
    local name = FOLDERS[split]
    if name == nil then
        return nil, ("lsun_%s: no '%s' split (train and valid; use data.heldout=valid)"):format(category, tostring(split))
    end
    local dir = cfg.root .. "/" .. name:format(category)
    local files, err = folder.list(dir)
    if files == nil or #files == 0 then
        return nil, ("%s; LSUN %s is expected as image folders %s and %s under %s (data.root=DIR); it is "
            .. "published at %s"):format(files and dir .. ": no image files" or err, category,
            FOLDERS.train:format(category), FOLDERS.valid:format(category), cfg.root, M.URL)
    end
    local p
    p, err = pack.ensure{path = ("%s/lsun_%s-%s.nvppack"):format(cfg.cache, category, split), files = files,
                         decode = preprocess.DATASETS.lsun.decode, bad = cfg.bad_images, say = say}
    if p == nil then return nil, err end
    if split == "train" then return crop_source(p) end
    return p:crops(CROP, CROP)
end

return M
