-- nvp.data.dataset: a recipe's `data` section -> training and held-out image sets.
--
--   local ds = assert(dataset.open(recipe.data))
--   ds.train, ds.heldout (Images), ds.channels, ds.height, ds.width, ds.name
--
-- ds.train and ds.heldout carry class labels where the dataset has them (images.labels, .classes:
-- Fashion-MNIST, CIFAR-10). ds.train is an Images set, except for LSUN: a crop source ({pack, count,
-- channels, height, width, crop = "random"}) from which nvp.data.loader draws random 64x64 crops.
-- Folder datasets (ImageNet, CelebA, LSUN) are decoded once into packed caches under data.cache
-- (nvp.data.pack).
local M = {}

local function say_default(line)
    io.stderr:write(line, "\n")
end

local function folder_loader(load)
    return function(split, cfg, say)
        if cfg.root == "" then
            -- No default location: the module's message names the files it expects and their source.
            local c = {}
            for k, v in pairs(cfg) do c[k] = v end
            c.root = "data/" .. cfg.dataset
            return load(split, c, say)
        end
        return load(split, cfg, say)
    end
end

-- A reader returning (images, labels) -> a loader whose images carry their labels (0 .. classes - 1).
local function labelled(module, classes)
    return function(split, cfg)
        local images, labels = require(module).load(split, cfg.root ~= "" and cfg.root or nil)
        if images == nil then return nil, labels end
        return images:set_labels(labels, classes)
    end
end

-- The labelled datasets' class names, in label order (for figure captions).
M.CLASS_NAMES = {
    fashion_mnist = {"T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                     "ankle boot"},
    cifar10 = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
}

-- name -> function(split, cfg, say) -> images or nil, message; heldout splits it knows
M.SOURCES = {
    fashion_mnist = {load = labelled("nvp.data.fashion_mnist", 10), heldout = {test = true}},
    cifar10 = {load = labelled("nvp.data.cifar10", 10), heldout = {test = true}},
    imagenet32 = {load = folder_loader(function(split, cfg, say)
        return require("nvp.data.imagenet").load(32, split, cfg, say) end), heldout = {valid = true}},
    imagenet64 = {load = folder_loader(function(split, cfg, say)
        return require("nvp.data.imagenet").load(64, split, cfg, say) end), heldout = {valid = true}},
    celeba = {load = folder_loader(function(split, cfg, say)
        return require("nvp.data.celeba").load(split, cfg, say) end), heldout = {valid = true, test = true}},
}
M.SOURCES.folder = {load = function(split, cfg, say) return require("nvp.data.folder_dataset").load(split, cfg, say) end,
                    heldout = {test = true, valid = true}}
for _, category in ipairs{"bedroom", "tower", "church_outdoor"} do
    M.SOURCES["lsun_" .. category] = {load = folder_loader(function(split, cfg, say)
        return require("nvp.data.lsun").load(category, split, cfg, say) end), heldout = {valid = true}}
end

local HELDOUT_TAIL = 5000 -- images held out of the training split for heldout = "train_tail"

local function valid_splits(source)
    local names = {}
    for k in pairs(source.heldout) do names[#names + 1] = k end
    names[#names + 1] = "train_tail"
    table.sort(names)
    return table.concat(names, ", ")
end

--- Returns the dataset, or nil, message (a missing or corrupt file: the message names it).
-- say(line): progress of a cache being built (default: stderr).
function M.open(cfg, say)
    say = say or say_default
    local source = M.SOURCES[cfg.dataset]
    if source == nil then
        return nil, ("data.dataset: unknown dataset '%s'"):format(tostring(cfg.dataset))
    end
    if cfg.heldout ~= "train_tail" and not source.heldout[cfg.heldout] then
        return nil, ("data.heldout: %s has no '%s' split (valid: %s)"):format(cfg.dataset, tostring(cfg.heldout),
            valid_splits(source))
    end
    local train, err = source.load("train", cfg, say)
    if train == nil then return nil, err end
    local heldout
    if cfg.heldout ~= "train_tail" then
        heldout, err = source.load(cfg.heldout, cfg, say)
        if heldout == nil then return nil, err end
    else
        if train.narrow == nil then
            return nil, ("data.heldout: 'train_tail' needs a fixed-size training set; %s has a valid split"):format(
                cfg.dataset)
        end
        if train.count <= HELDOUT_TAIL then
            return nil, ("data.heldout: 'train_tail' needs more than %d training images"):format(HELDOUT_TAIL)
        end
        heldout = train:narrow(train.count - HELDOUT_TAIL + 1, HELDOUT_TAIL)
        train = train:narrow(1, train.count - HELDOUT_TAIL)
    end
    if cfg.train_images > 0 and cfg.train_images < train.count then
        if train.narrow then
            train = train:narrow(1, cfg.train_images)
        else
            train.count = cfg.train_images
        end
    end
    if cfg.heldout_images > 0 and cfg.heldout_images < heldout.count then
        heldout = heldout:narrow(1, cfg.heldout_images)
    end
    return {name = cfg.dataset, train = train, heldout = heldout, channels = train.channels, height = train.height,
            width = train.width}
end

return M
