-- nvp.data.images: a batch of 8-bit images in memory, (count, channels, height, width), as decoded
-- from a dataset file. `data` is a uint8_t* freed by ffi.gc with the last reference. A labelled set
-- (Fashion-MNIST, CIFAR-10) also has `labels`, a uint8_t* of `count` class indices in the images' order
-- (`label_storage` keeps its buffer alive), and `classes`; narrow() keeps them aligned.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local C = nffi.C

local Images = {}
Images.__index = Images

local M = {Images = Images}

--- Take ownership of a filled nvp_images struct (from an engine reader).
function M.adopt(raw)
    local data = ffi.gc(raw.data, C.nvp_free)
    raw.data = nil
    return setmetatable({data = data, storage = data, count = tonumber(raw.count), channels = raw.channels,
                         height = raw.height, width = raw.width}, Images)
end

--- A new zeroed batch.
function M.new(count, channels, height, width)
    local n = count * channels * height * width
    local raw = C.nvp_alloc(n)
    if raw == nil then error(nffi.last_error(), 2) end
    local data = ffi.gc(ffi.cast("uint8_t *", raw), C.nvp_free)
    ffi.fill(data, n, 0)
    return setmetatable({data = data, storage = data, count = count, channels = channels, height = height,
                         width = width}, Images)
end

--- Wrap an existing uint8 buffer (N*C*H*W bytes) without copying; `data` is kept alive by the batch.
function M.wrap(data, count, channels, height, width)
    return setmetatable({data = data, storage = data, count = count, channels = channels, height = height,
                         width = width}, Images)
end

function Images:image_bytes()
    return self.channels * self.height * self.width
end

--- Attach class labels ({data = uint8_t* of count classes (gc'd), count}) to this set; classes: how many
-- there are (labels must be < classes). Returns the set, or nil, message when the counts differ.
function Images:set_labels(labels, classes)
    if labels.count ~= self.count then
        return nil, ("%d labels for %d images"):format(labels.count, self.count)
    end
    self.labels, self.label_storage, self.classes = labels.data, labels, classes
    return self
end

--- A view of images first .. first+count-1 (1-based), sharing the buffer (and the labels, if any).
function Images:narrow(first, count)
    if first < 1 or count < 0 or first + count - 1 > self.count then
        error(("images.narrow: images %d..%d are outside a batch of %d"):format(first, first + count - 1,
            self.count), 2)
    end
    return setmetatable({data = self.data + (first - 1) * self:image_bytes(), storage = self.storage,
                         count = count, channels = self.channels, height = self.height, width = self.width,
                         labels = self.labels and self.labels + (first - 1), label_storage = self.label_storage,
                         classes = self.classes}, Images)
end

function Images:__tostring()
    return ("Images(%d x %d x %d x %d, uint8)"):format(self.count, self.channels, self.height, self.width)
end

return M
