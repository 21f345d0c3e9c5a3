-- nvp.data.loader: batches of uint8 images from an Images set, in a seeded order.
--
-- Epoch e's order is a Fisher-Yates shuffle drawn from its own counter range of the data stream, so
-- the order depends only on (seed, epoch): resuming at (epoch, index) replays exactly what an
-- uninterrupted run would have seen, whatever happened before. Optional horizontal flips are drawn
-- the same way (per epoch and position).
--
--   local L = loader.new{images = train, batch = 64, seed = 0, flip = true}
--   local pixels, n = L:next()     -- uint8_t* to n images of C*H*W bytes (valid until the next call)
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local C, check = nffi.C, nffi.check

local Loader = {}
Loader.__index = Loader

local M = {Loader = Loader}

local EPOCH_STRIDE = 2 ^ 40 -- counters reserved per epoch

--- cfg: images (Images), batch, seed, flip (default false), shuffle (default true).
function M.new(cfg)
    local self = setmetatable({}, Loader)
    self.images, self.batch = cfg.images, cfg.batch
    if cfg.batch > cfg.images.count then
        error(("loader: batch %d is larger than the %d images available"):format(cfg.batch, cfg.images.count), 2)
    end
    self.seed, self.flip, self.shuffle = cfg.seed or 0, cfg.flip == true, cfg.shuffle ~= false
    self.bytes = cfg.images:image_bytes()
    self.out = ffi.new("uint8_t[?]", self.batch * self.bytes)
    self.flags = ffi.new("uint8_t[?]", self.batch)
    self.order = ffi.new("int32_t[?]", cfg.images.count)
    self.epoch, self.index = 0, 0
    self.batches_per_epoch = math.floor(cfg.images.count / self.batch) -- the last partial batch is dropped
    self:make_order()
    return self
end

-- A stream for epoch e of purpose k (0 = order, 1 = flips).
local function stream(self, k)
    local g = Rng.new(self.seed)
    g.counter = ffi.new("uint64_t", (self.epoch * 2 + k + 1)) * EPOCH_STRIDE
    return g
end

function Loader:make_order()
    local n = self.images.count
    for i = 0, n - 1 do self.order[i] = i end
    if not self.shuffle then return end
    local u = stream(self, 0):uniform(T.empty{n})
    for i = n - 1, 1, -1 do
        local j = math.floor(u.data[i] * (i + 1))
        if j > i then j = i end
        self.order[i], self.order[j] = self.order[j], self.order[i]
    end
end

--- Where the next batch starts: epoch (0-based) and batch index within it.
function Loader:position()
    return {epoch = self.epoch, index = self.index}
end

function Loader:set_position(pos)
    self.epoch, self.index = pos.epoch, pos.index
    self:make_order()
end

--- The next batch: uint8_t* (batch x C x H x W), the count, and the epoch it came from.
function Loader:next()
    if self.index >= self.batches_per_epoch then
        self.epoch, self.index = self.epoch + 1, 0
        self:make_order()
    end
    local first = self.index * self.batch
    local src, out, bytes = self.images.data, self.out, self.bytes
    for k = 0, self.batch - 1 do
        ffi.copy(out + k * bytes, src + self.order[first + k] * bytes, bytes)
    end
    if self.flip then
        local g = stream(self, 1)
        g.counter = g.counter + first
        local u = g:uniform(T.empty{self.batch})
        for k = 0, self.batch - 1 do self.flags[k] = u.data[k] < 0.5 and 1 or 0 end
        check(C.nvp_flip_horizontal_u8(out, self.flags, self.batch, self.images.channels, self.images.height,
            self.images.width), 2)
    end
    local epoch = self.epoch
    self.index = self.index + 1
    return out, self.batch, epoch
end

--- Fractional epochs done.
function Loader:epochs_done()
    return self.epoch + self.index / self.batches_per_epoch
end

return M
