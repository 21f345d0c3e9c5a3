-- nvp.likelihood.inputs: the images a likelihood verb is given, as one Images batch of the
-- checkpoint's shape, with a name per image.
--
--   local set = assert(inputs.load({"a.png", "photos/", "t10k-images-idx3-ubyte.gz"}, model_shape, opts))
--   set.images (Images, N x C x H x W), set.names[i] ("a.png", "photos/x/1.jpg", "t10k-...gz#17")
--
-- An INPUT is a PNG or JPEG file (recognised by content), a folder of them (searched recursively, in
-- nvp.data.folder's order), an IDX image file (gzip'd or plain; "idx" in its name or the IDX magic)
-- or a CIFAR-10 binary batch (.bin or .bin.gz), every image of which is taken. Decoding is the
-- engine's (libpng, libjpeg-turbo, the IDX and CIFAR readers): a file is data, nothing in it runs.
--
-- The checkpoint fixes the shape {channels, height, width}. A file of another size is refused in one
-- line naming it, its size and the size expected, unless opts.resize (bilinear, nvp_resize_bilinear_u8);
-- grey into an RGB model or RGB into a grey one likewise, unless opts.convert (grey replicated; RGB to
-- grey by the BT.601 luma 0.299 R + 0.587 G + 0.114 B, rounded, as libjpeg converts). Returns nil,
-- message on any refusal or unreadable file.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local images_mod = require "nvp.data.images"
local idx = require "nvp.data.idx"
local folder = require "nvp.data.folder"
local lfs = require "lfs"
local C = nffi.C

local M = {}

local function channel_word(c)
    return c == 1 and "grey" or c == 3 and "RGB" or ("%d-channel"):format(c)
end

--- "28x28 grey" for a shape {channels, height, width}.
function M.describe(shape)
    return ("%dx%d %s"):format(shape.width, shape.height, channel_word(shape.channels))
end

local function read_head(path, n)
    local f, err = io.open(path, "rb")
    if f == nil then return nil, err end
    local s = f:read(n) or ""
    f:close()
    return s
end

local function be16(s, i) return s:byte(i) * 256 + s:byte(i + 1) end
local function be32(s, i) return ((s:byte(i) * 256 + s:byte(i + 1)) * 256 + s:byte(i + 2)) * 256 + s:byte(i + 3) end

local JPEG_SOF = {}
for _, m in ipairs{0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF} do JPEG_SOF[m] = true end

-- Width, height and channels from a JPEG's frame header, or nil.
local function jpeg_header(s)
    local i = 3
    while i + 3 <= #s do
        if s:byte(i) ~= 0xFF then return nil end
        local marker = s:byte(i + 1)
        if marker == 0xFF then
            i = i + 1
        elseif marker == 0xD8 or marker == 0x01 or (marker >= 0xD0 and marker <= 0xD7) then
            i = i + 2
        elseif marker == 0xDA or marker == 0xD9 then
            return nil
        else
            local len = be16(s, i + 2)
            if JPEG_SOF[marker] then
                if i + 9 > #s then return nil end
                return be16(s, i + 7), be16(s, i + 5), s:byte(i + 9)
            end
            i = i + 2 + len
        end
    end
    return nil
end

--- What a file is, from its first bytes (and name, for gzip'd IDX and CIFAR): kind ("png", "jpeg",
-- "idx", "cifar", or "gzip": IDX or CIFAR-10, to be told by their readers) and, for single images,
-- {channels, height, width} as stored. Or nil, message.
function M.probe(path)
    local s, err = read_head(path, 1048576)
    if s == nil then return nil, ("%s: cannot read: %s"):format(path, tostring(err)) end
    if s:sub(1, 8) == "\137PNG\r\n\26\n" and #s >= 26 and s:sub(13, 16) == "IHDR" then
        local colour = s:byte(26)
        local ch = (colour == 0 or colour == 4) and 1 or 3
        return "png", {channels = ch, width = be32(s, 17), height = be32(s, 21)}
    end
    if s:sub(1, 2) == "\255\216" then
        local w, h, comps = jpeg_header(s)
        if w == nil then return nil, ("%s: a JPEG without a readable frame header"):format(path) end
        return "jpeg", {channels = comps == 1 and 1 or 3, width = w, height = h}
    end
    local name = path:match("[^/]*$"):lower()
    local gz = s:sub(1, 2) == "\31\139"
    if (not gz and #s >= 4 and s:sub(1, 4) == "\0\0\8\3") or (gz and name:find("idx", 1, true)) then
        return "idx"
    end
    if name:match("%.bin$") or name:match("%.bin%.gz$") then return "cifar" end
    if gz then return "gzip" end -- IDX or CIFAR-10: decided by trying the readers
    if #s > 0 and #s < 1048576 and #s % 3073 == 0 then return "cifar" end
    local size = lfs.attributes(path, "size")
    if size and size > 0 and size % 3073 == 0 then return "cifar" end
    return nil, ("%s: not a PNG, JPEG, IDX image file or CIFAR-10 batch (.bin, .bin.gz)"):format(path)
end

-- RGB -> grey (BT.601, rounded) or grey -> RGB of count images, into a new Images batch.
local function convert_channels(src, want)
    local out = images_mod.new(src.count, want, src.height, src.width)
    local plane = src.height * src.width
    for n = 0, src.count - 1 do
        local s, d = src.data + n * src.channels * plane, out.data + n * want * plane
        if want == 1 then
            for p = 0, plane - 1 do
                d[p] = math.floor(0.299 * s[p] + 0.587 * s[plane + p] + 0.114 * s[2 * plane + p] + 0.5)
            end
        else
            for c = 0, 2 do ffi.copy(d + c * plane, s, plane) end
        end
    end
    return out
end

local function resize(src, h, w)
    local out = images_mod.new(src.count, src.channels, h, w)
    for n = 0, src.count - 1 do
        nffi.check(C.nvp_resize_bilinear_u8(out.data + n * src.channels * h * w,
            src.data + n * src:image_bytes(), src.channels, src.height, src.width, h, w))
    end
    return out
end

--- Bring a batch decoded from `what` to the model's shape, or nil, the one-line refusal.
function M.conform(batch, what, want, opts)
    opts = opts or {}
    local have = {channels = batch.channels, height = batch.height, width = batch.width}
    if have.channels ~= want.channels then
        if not opts.convert then
            return nil, ("%s: %s, the checkpoint expects %s (convert=1 converts %s to %s)"):format(what,
                M.describe(have), M.describe(want), channel_word(have.channels), channel_word(want.channels))
        end
        if (have.channels ~= 1 and have.channels ~= 3) then
            return nil, ("%s: %d channels cannot be converted"):format(what, have.channels)
        end
        batch = convert_channels(batch, want.channels)
    end
    if have.height ~= want.height or have.width ~= want.width then
        if not opts.resize then
            return nil, ("%s: %s, the checkpoint expects %s (resize=1 resizes)"):format(what, M.describe(have),
                M.describe(want))
        end
        batch = resize(batch, want.height, want.width)
    end
    return batch
end

local function decode_image(path, stored)
    local raw = ffi.new("nvp_images")
    local ok, err = nffi.try(C.nvp_image_read(raw, path, stored.channels))
    if not ok then return nil, err end
    return images_mod.adopt(raw)
end

local decode_batch
function decode_batch(path, kind)
    if kind == "idx" then return idx.read_images(path) end
    if kind == "gzip" then
        local images, err = decode_batch(path, "idx")
        if images then return images end
        local cimages, cerr = decode_batch(path, "cifar")
        if cimages then return cimages end
        local quoted = path:gsub("%p", "%%%0") .. ":%s*"
        return nil, ("%s: neither an IDX image file (%s) nor a CIFAR-10 batch (%s)"):format(path,
            (err:gsub(quoted, "")), (cerr:gsub(quoted, "")))
    end
    local cpaths = ffi.new("const char *[1]", {path})
    local raw = ffi.new("nvp_images")
    local labels = ffi.new("uint8_t *[1]")
    local ok, err = nffi.try(C.nvp_cifar_read(raw, labels, cpaths, 1))
    if not ok then return nil, err end
    C.nvp_free(labels[0])
    if #path < 0 then error("unreachable") end -- path outlives the call
    return images_mod.adopt(raw)
end

--- Load INPUTs (paths of files or folders) as one batch of shape `want` ({channels, height, width}).
-- opts: resize, convert, limit (at most this many images in all). Returns {images, names} or nil, message.
function M.load(paths, want, opts)
    opts = opts or {}
    local batches, names, count = {}, {}, 0
    local function add(batch, base, many)
        batches[#batches + 1] = batch
        for i = 1, batch.count do names[#names + 1] = many and ("%s#%d"):format(base, i) or base end
        count = count + batch.count
    end
    local function file(path, shown)
        local kind, stored = M.probe(path)
        if kind == nil then return nil, stored end
        local batch, err
        if kind == "png" or kind == "jpeg" then
            batch, err = decode_image(path, stored)
        else
            batch, err = decode_batch(path, kind)
        end
        if batch == nil then
            -- every refusal names the file (some engine readers' messages do not)
            if not err:find(path, 1, true) then err = ("%s: %s"):format(path, err) end
            return nil, err
        end
        batch, err = M.conform(batch, path, want, opts)
        if batch == nil then return nil, err end
        add(batch, shown, kind == "idx" or kind == "cifar" or kind == "gzip")
        return true
    end
    for _, path in ipairs(paths) do
        local mode = lfs.attributes(path, "mode")
        if mode == nil then return nil, ("%s: no such file or directory"):format(path) end
        if mode == "directory" then
            local files, err = folder.list(path, {png = true, jpg = true, jpeg = true})
            if files == nil then return nil, err end
            if #files == 0 then return nil, ("%s: no PNG or JPEG files in this folder"):format(path) end
            for _, f in ipairs(files) do
                local ok, ferr = file(f.path, path:gsub("/+$", "") .. "/" .. f.name)
                if not ok then return nil, ferr end
            end
        else
            local ok, err = file(path, path)
            if not ok then return nil, err end
        end
    end
    if count == 0 then return nil, "no images given" end
    local all = images_mod.new(count, want.channels, want.height, want.width)
    local at, bytes = 0, all:image_bytes()
    for _, b in ipairs(batches) do
        ffi.copy(all.data + at * bytes, b.data, b.count * bytes)
        at = at + b.count
    end
    if opts.limit and opts.limit < count then
        all = all:narrow(1, opts.limit)
        for i = #names, opts.limit + 1, -1 do names[i] = nil end
    end
    return {images = all, names = names}
end

--- A recipe's split ("test", "valid", "train", or "heldout": the one it evaluates on) as a set, named
-- "SPLIT#i". opts: root (data.root), limit. Returns {images, names} or nil, message.
function M.split(recipe, split, want, opts)
    opts = opts or {}
    local data = {}
    for k, v in pairs(recipe.data) do data[k] = v end
    if opts.root then data.root = opts.root end
    data.heldout_images = 0
    if split ~= "heldout" and split ~= "train" then data.heldout = split end
    local ds, err = require("nvp.data.dataset").open(data)
    if ds == nil then return nil, err end
    if split == "heldout" then split = data.heldout end
    local images = split == "train" and ds.train or ds.heldout
    if images.data == nil then return nil, ("%s's %s split is a crop source; score a held-out split"):format(
        data.dataset, split) end
    -- where the library has recipe-level data.transforms, their deterministic part (central crops,
    -- resizes), as nvp eval applies it, so that a split is scored as it is evaluated
    local has_transforms, transforms = pcall(require, "nvp.data.transforms")
    if has_transforms then
        local pipeline = transforms.new(recipe.data.transforms, {channels = ds.channels, height = ds.height,
                                                                 width = ds.width})
        images = pipeline:eval_images(images, split == "train" and opts.limit or nil)
    end
    local what = ("%s split '%s'"):format(data.dataset, split)
    images, err = M.conform(images, what, want, opts)
    if images == nil then return nil, err end
    if opts.limit and opts.limit < images.count then images = images:narrow(1, opts.limit) end
    local names = {}
    for i = 1, images.count do names[i] = ("%s#%d"):format(split, i) end
    return {images = images, names = names}
end

--- The shape a checkpoint's model takes: {channels, height, width}.
function M.shape_of(model)
    return {channels = model.cfg.channels, height = model.cfg.height, width = model.cfg.width_px}
end

return M
