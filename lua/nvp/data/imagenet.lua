-- nvp.data.imagenet: the downsampled ImageNet of van den Oord et al. (2016), 32x32 and 64x64, as
-- released: folders of PNG files (train_32x32.tar, valid_32x32.tar, train_64x64.tar, valid_64x64.tar
-- extracted under one root). 1,281,149 training and 49,999 validation images (50,000 in some copies).
-- No preprocessing and no flips (preprocess.lua); the first use decodes each folder once into a
-- packed cache (nvp.data.pack) that training then maps.
local folder = require "nvp.data.folder"
local pack = require "nvp.data.pack"
local preprocess = require "nvp.data.preprocess"

local M = {}

M.URL = "https://image-net.org/download-images (the 'Downsampled ImageNet' 32x32 / 64x64 release; "
    .. "mirrored as Imagenet32/Imagenet64 in the original code's README: http://image-net.org/small/download.php)"

-- split -> folder name, by side
local FOLDERS = {train = "train_%dx%d", valid = "valid_%dx%d"}

--- Load one split ("train" or "valid") of the side x side release: an Images view of its cache, or
-- nil, message. cfg: the recipe's data section (root, cache, bad_images), say(line) for progress.
function M.load(side, split, cfg, say)
    local name = FOLDERS[split]
    if name == nil then
        return nil, ("imagenet%d: no '%s' split (the release has train and valid; use data.heldout=valid)")
            :format(side, tostring(split))
    end
    local dir = cfg.root .. "/" .. name:format(side, side)
    local files, err = folder.list(dir)
    if files == nil or #files == 0 then
        return nil, ("%s; ImageNet %dx%d is expected as folders of PNG files %s and %s under %s (data.root=DIR); "
            .. "it is published at %s"):format(files and dir .. ": no PNG files" or err, side, side,
            FOLDERS.train:format(side, side), FOLDERS.valid:format(side, side), cfg.root, M.URL)
    end
    local p
    p, err = pack.ensure{path = ("%s/imagenet%d-%s.nvppack"):format(cfg.cache, side, split), files = files,
                         decode = preprocess.DATASETS["imagenet" .. side].decode, bad = cfg.bad_images, say = say}
    if p == nil then return nil, err end
    return p:images()
end

return M
