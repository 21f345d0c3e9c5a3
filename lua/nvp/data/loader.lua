-- nvp.data.loader: batches of uint8 images from an Images set or an LSUN-style crop source, in a
-- seeded order, gathered by a background thread while the previous step runs.
--
-- Epoch e's order is a Fisher-Yates shuffle drawn from its own counter range of the data stream, so
-- the order depends only on (seed, epoch): resuming at (epoch, index) replays exactly what an
-- uninterrupted run would have seen, whatever happened before. Optional horizontal flips and (for a
-- crop source) random crop offsets are drawn the same way, per epoch and position.
--
-- Every batch is one nvp_pack_gather (copy, crop, flip) of the chosen images. With prefetch (the
-- default) it runs on the engine's prefetch thread (engine/src/io/prefetch.c): next() returns batch k
-- and at once submits batch k+1, whose copy out of the memory-mapped cache then overlaps the step.
--
--   local L = loader.new{images = train, batch = 64, seed = 0, flip = true}
--   local pixels, n, epoch, labels = L:next() -- uint8_t* to n images of C*H*W bytes and, for a labelled
--                                                -- set, their n class labels (both valid until the next call)
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local preprocess = require "nvp.data.preprocess"
local C, check = nffi.C, nffi.check

local Loader = {}
Loader.__index = Loader

local M = {Loader = Loader}

local EPOCH_STRIDE = 2 ^ 40 -- counters reserved per epoch and purpose
local CROP_OFFSET = 2 ^ 39  -- crops: the upper half of the order stream's range (2 uniforms an image)

--- cfg: images (Images or a crop source), batch, seed, flip (default false), shuffle (default true),
-- prefetch (default true).
function M.new(cfg)
    local self = setmetatable({}, Loader)
    local src = cfg.images
    self.images, self.batch = src, cfg.batch
    if cfg.batch > src.count then
        error(("loader: batch %d is larger than the %d images available"):format(cfg.batch, src.count), 2)
    end
    self.seed, self.flip, self.shuffle = cfg.seed or 0, cfg.flip == true, cfg.shuffle ~= false
    self.crop = src.crop == "random"
    if src.pack then
        self.view = src.pack.raw
        self.pack = src.pack            -- keeps the map alive
    else
        -- A pack view of images in memory: fixed-size records one after the other.
        local v = ffi.new("nvp_pack")
        v.payload, v.records, v.count = src.data, nil, src.count
        v.channels, v.height, v.width = src.channels, src.height, src.width
        self.view = v
    end
    self.out_h, self.out_w = src.height, src.width
    self.bytes = src.channels * src.height * src.width
    self.index = ffi.new("int64_t[?]", self.batch)
    self.y0, self.x0 = ffi.new("int32_t[?]", self.batch), ffi.new("int32_t[?]", self.batch)
    self.flags = ffi.new("uint8_t[?]", self.batch)
    self.order = ffi.new("int32_t[?]", src.count)
    self.batch_labels = src.labels and ffi.new("uint8_t[?]", self.batch) -- the returned batch's labels
    self.order_epoch = -1
    self.epoch, self.index_in_epoch = 0, 0
    self.batches_per_epoch = math.floor(src.count / self.batch) -- the last partial batch is dropped
    if cfg.prefetch ~= false then
        local pp = ffi.new("nvp_prefetch *[1]")
        check(C.nvp_prefetch_create(pp, self.view, self.batch, self.out_h, self.out_w), 2)
        self.prefetch = ffi.gc(pp[0], C.nvp_prefetch_free)
        self.pending = nil            -- the position of the submitted batch
    else
        self.out = ffi.new("uint8_t[?]", self.batch * self.bytes)
    end
    return self
end

-- A stream for epoch e of purpose k (0 = order and crops, 1 = flips).
local function stream(self, epoch, k)
    local g = Rng.new(self.seed)
    g.counter = ffi.new("uint64_t", (epoch * 2 + k + 1)) * EPOCH_STRIDE
    return g
end

function Loader:make_order(epoch)
    if self.order_epoch == epoch then return end
    local n = self.images.count
    for i = 0, n - 1 do self.order[i] = i end
    if self.shuffle then
        local u = stream(self, epoch, 0):uniform(T.empty{n})
        for i = n - 1, 1, -1 do
            local j = math.floor(u.data[i] * (i + 1))
            if j > i then j = i end
            self.order[i], self.order[j] = self.order[j], self.order[i]
        end
    end
    self.order_epoch = epoch
end

-- Fill index/y0/x0/flags with batch `index` of `epoch`.
function Loader:plan(epoch, index)
    self:make_order(epoch)
    local first, n = index * self.batch, self.batch
    for k = 0, n - 1 do self.index[k] = self.order[first + k] end
    if self.flip then
        local g = stream(self, epoch, 1)
        g.counter = g.counter + first
        local u = g:uniform(T.empty{n})
        for k = 0, n - 1 do self.flags[k] = u.data[k] < 0.5 and 1 or 0 end
    else
        ffi.fill(self.flags, n, 0)
    end
    if self.crop then
        local g = stream(self, epoch, 0)
        g.counter = g.counter + CROP_OFFSET + 2 * first
        local u = g:uniform(T.empty{2 * n})
        for k = 0, n - 1 do
            local h, w = self.pack:size_of(self.index[k])
            self.y0[k], self.x0[k] = preprocess.random_offset(h, w, self.out_h, self.out_w, u.data[2 * k],
                u.data[2 * k + 1])
        end
    else
        ffi.fill(self.y0, 4 * n, 0)
        ffi.fill(self.x0, 4 * n, 0)
    end
end

function Loader:submit(epoch, index)
    self:plan(epoch, index)
    check(C.nvp_prefetch_submit(self.prefetch, self.index, self.y0, self.x0, self.flags, self.batch), 3)
    self.pending = {epoch = epoch, index = index}
end

--- Where the next batch starts: epoch (0-based) and batch index within it.
function Loader:position()
    return {epoch = self.epoch, index = self.index_in_epoch}
end

function Loader:set_position(pos)
    self.epoch, self.index_in_epoch = pos.epoch, pos.index
end

--- The next batch: uint8_t* (batch x C x H x W), the count, and the epoch it came from.
function Loader:next()
    if self.index_in_epoch >= self.batches_per_epoch then
        self.epoch, self.index_in_epoch = self.epoch + 1, 0
    end
    local epoch, index = self.epoch, self.index_in_epoch
    local out
    if self.prefetch then
        local p = self.pending
        if p == nil or p.epoch ~= epoch or p.index ~= index then
            if p ~= nil then   -- a batch for another position (set_position moved): drain it
                local discard = ffi.new("uint8_t *[1]")
                C.nvp_prefetch_wait(self.prefetch, discard)
            end
            self:submit(epoch, index)
        end
        local batch = ffi.new("uint8_t *[1]")
        self.pending = nil
        check(C.nvp_prefetch_wait(self.prefetch, batch), 2)
        out = batch[0]
        self:gather_labels() -- self.index still holds this batch's images: the next submit replans it
        -- Start gathering the following batch while the caller's step runs.
        local next_epoch, next_index = epoch, index + 1
        if next_index >= self.batches_per_epoch then next_epoch, next_index = epoch + 1, 0 end
        self:submit(next_epoch, next_index)
    else
        self:plan(epoch, index)
        out = self.out
        check(C.nvp_pack_gather(out, self.view, self.index, self.y0, self.x0, self.flags, self.batch, self.out_h,
            self.out_w), 2)
        self:gather_labels()
    end
    self.index_in_epoch = index + 1
    return out, self.batch, epoch, self.batch_labels
end

-- The labels of the planned batch's images (self.index), for a labelled set.
function Loader:gather_labels()
    local labels = self.batch_labels
    if labels == nil then return end
    local src = self.images.labels
    for k = 0, self.batch - 1 do labels[k] = src[self.index[k]] end
end

--- Fractional epochs done.
function Loader:epochs_done()
    return self.epoch + self.index_in_epoch / self.batches_per_epoch
end

return M
