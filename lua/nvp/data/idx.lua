-- nvp.data.idx: IDX files (MNIST, Fashion-MNIST), gzip'd or plain, decoded by the engine.
-- Returns nil, message for a missing, truncated or corrupt file (the message names the file).
--
--   local imgs = assert(idx.read_images("train-images-idx3-ubyte.gz"))  -- uint8 (count,1,28,28)
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local images = require "nvp.data.images"
local C = nffi.C

local M = {}

function M.read_images(path)
    local raw = ffi.new("nvp_images")
    local ok, err = nffi.try(C.nvp_idx_read_images(raw, path))
    if not ok then return nil, err end
    return images.adopt(raw)
end

--- Labels as a uint8 buffer (owned, gc'd) and its length.
function M.read_labels(path)
    local ptr = ffi.new("uint8_t *[1]")
    local count = ffi.new("int64_t[1]")
    local ok, err = nffi.try(C.nvp_idx_read_labels(ptr, count, path))
    if not ok then return nil, err end
    return {data = ffi.gc(ptr[0], C.nvp_free), count = tonumber(count[0])}
end

return M
