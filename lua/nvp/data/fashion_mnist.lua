-- nvp.data.fashion_mnist: the four Fashion-MNIST IDX files (Debian package dataset-fashion-mnist,
-- installed under /usr/share/datasets/fashion-mnist). 60,000 train and 10,000 test images, 1x28x28.
local idx = require "nvp.data.idx"

local M = {}

M.DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
M.FILES = {
    train = {images = "train-images-idx3-ubyte.gz", labels = "train-labels-idx1-ubyte.gz"},
    test = {images = "t10k-images-idx3-ubyte.gz", labels = "t10k-labels-idx1-ubyte.gz"},
}

--- Load one split ("train" or "test"): images (uint8, N x 1 x 28 x 28) and labels, or nil, message.
function M.load(split, root)
    root = root or M.DEFAULT_ROOT
    local files = M.FILES[split]
    if files == nil then
        error(("fashion_mnist: unknown split '%s' (valid: train, test)"):format(tostring(split)), 2)
    end
    local path = root .. "/" .. files.images
    local f = io.open(path, "rb")
    if f == nil then
        return nil, ("%s: not found; Fashion-MNIST is expected in %s (apt-get install dataset-fashion-mnist)")
            :format(path, root)
    end
    f:close()
    local images, err = idx.read_images(path)
    if images == nil then return nil, err end
    local labels
    labels, err = idx.read_labels(root .. "/" .. files.labels)
    if labels == nil then return nil, err end
    if labels.count ~= images.count then
        return nil, ("%s: %d labels for %d images"):format(root .. "/" .. files.labels, labels.count, images.count)
    end
    return images, labels
end

return M
