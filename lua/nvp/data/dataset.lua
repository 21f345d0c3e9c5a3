-- nvp.data.dataset: a recipe's `data` section -> training and held-out image sets.
--
--   local ds = assert(dataset.open(recipe.data))
--   ds.train, ds.heldout (Images), ds.channels, ds.height, ds.width, ds.name
local M = {}

-- name -> {module, default root, train split, test split}
M.SOURCES = {
    fashion_mnist = {module = "nvp.data.fashion_mnist"},
    cifar10 = {module = "nvp.data.cifar10"},
}

local HELDOUT_TAIL = 5000 -- images held out of the training split for heldout = "train_tail"

--- Returns the dataset, or nil, message (a missing or corrupt file: the message names it).
function M.open(cfg)
    local source = M.SOURCES[cfg.dataset]
    if source == nil then
        return nil, ("data.dataset: unknown dataset '%s'"):format(tostring(cfg.dataset))
    end
    local mod = require(source.module)
    local root = cfg.root ~= "" and cfg.root or nil
    local train, err = mod.load("train", root)
    if train == nil then return nil, err end
    local heldout
    if cfg.heldout == "test" then
        heldout, err = mod.load("test", root)
        if heldout == nil then return nil, err end
    else
        if train.count <= HELDOUT_TAIL then
            return nil, ("data.heldout: 'train_tail' needs more than %d training images"):format(HELDOUT_TAIL)
        end
        heldout = train:narrow(train.count - HELDOUT_TAIL + 1, HELDOUT_TAIL)
        train = train:narrow(1, train.count - HELDOUT_TAIL)
    end
    if cfg.train_images > 0 and cfg.train_images < train.count then train = train:narrow(1, cfg.train_images) end
    if cfg.heldout_images > 0 and cfg.heldout_images < heldout.count then
        heldout = heldout:narrow(1, cfg.heldout_images)
    end
    return {name = cfg.dataset, train = train, heldout = heldout, channels = train.channels, height = train.height,
            width = train.width}
end

return M
