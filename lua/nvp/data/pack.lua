-- nvp.data.pack: the packed cache (engine/src/io/pack.c): a folder decoded and preprocessed once into
-- one uint8 file, memory-mapped for training.
--
--   local p = assert(pack.ensure{path = "cache/celeba-train.nvppack", files = files, decode = pre.decode})
--   p.count, p.channels, p.height, p.width (0 when sizes vary, e.g. LSUN)
--   p:images()                     -- an Images view of the map (fixed-size packs), no copy
--   p:crops(out_h, out_w)          -- an Images of the central crops, in memory (held-out sets)
--
-- `ensure` rebuilds when the file is missing or its fingerprint (the preprocessing, every file's
-- relative name and size) differs, so a changed folder never trains on a stale cache. Files that fail
-- to decode (corrupt, truncated, mis-sized) are named; `bad = "skip"` leaves them out and reports
-- them, `bad = "refuse"` (the default) stops with the first one's message and writes nothing.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local images_mod = require "nvp.data.images"
local preprocess = require "nvp.data.preprocess"
local fs = require "nvp.fs"
local C = nffi.C

local Pack = {}
Pack.__index = Pack

local M = {Pack = Pack}

M.CHUNK = 512          -- files decoded in parallel per call
M.MESSAGE_BYTES = 512

--- FNV-1a (64-bit) of a string, continuing from h.
local function fnv1a(h, s)
    for i = 1, #s do
        h = bit.bxor(h, s:byte(i)) * 1099511628211ULL
    end
    return h
end

M.fnv1a = fnv1a

--- The fingerprint of a pack: its preprocessing and every file's relative name and size.
function M.fingerprint(files, decode)
    local h = fnv1a(14695981039346656037ULL, "nvp-pack-1|" .. preprocess.describe(decode))
    for _, f in ipairs(files) do h = fnv1a(h, ("|%s|%d"):format(f.name, f.size or -1)) end
    return h
end

--- Open a pack file: a Pack, or nil, message.
function M.open(path)
    local raw = ffi.new("nvp_pack")
    local ok, err = nffi.try(C.nvp_pack_open(raw, path))
    if not ok then return nil, err end
    local self = setmetatable({raw = ffi.gc(raw, C.nvp_pack_close), path = path, count = tonumber(raw.count),
                               channels = raw.channels, height = raw.height, width = raw.width,
                               fingerprint = raw.fingerprint}, Pack)
    return self
end

--- Decode `files` ({path, name, size}) with `decode` (a preprocess table) into a pack at `path`.
-- opts.bad: "refuse" (default) or "skip"; opts.say(line) for progress. Returns the number of images
-- packed and the list of skipped {name, message}, or nil, message.
function M.build(path, files, decode, opts)
    opts = opts or {}
    local bad_policy = opts.bad or "refuse"
    local say = opts.say or function() end
    if #files == 0 then return nil, ("%s: no image files to pack"):format(path) end
    local dir = path:match("^(.*)/[^/]+$")
    if dir then
        local ok, err = fs.mkdir_p(dir)
        if not ok then return nil, err end
    end
    local fp = M.fingerprint(files, decode)
    local wp = ffi.new("nvp_pack_writer *[1]")
    local ok, err = nffi.try(C.nvp_pack_writer_open(wp, path, decode.channels, fp))
    if not ok then return nil, err end
    local writer = wp[0]
    local pre = preprocess.struct(decode)
    local chunk = M.CHUNK
    local imgs = ffi.new("nvp_images[?]", chunk)
    local status = ffi.new("int32_t[?]", chunk)
    local messages = ffi.new("char[?]", chunk * M.MESSAGE_BYTES)
    local cpaths = ffi.new("const char *[?]", chunk)
    local skipped, packed = {}, 0
    local started = os.time()
    local function fail(message)
        for k = 0, chunk - 1 do C.nvp_images_free(imgs[k]) end
        C.nvp_pack_writer_abort(writer)
        return nil, message
    end
    for first = 1, #files, chunk do
        local n = math.min(chunk, #files - first + 1)
        local keep = {}
        for k = 0, n - 1 do
            keep[k] = files[first + k].path
            cpaths[k] = keep[k]
        end
        ok, err = nffi.try(C.nvp_images_decode(imgs, status, messages, M.MESSAGE_BYTES, cpaths, n, pre))
        if not ok then return fail(err) end
        for k = 0, n - 1 do
            if status[k] ~= 0 then
                local message = ffi.string(messages + k * M.MESSAGE_BYTES)
                if bad_policy ~= "skip" then
                    return fail(message .. " (data.bad_images=skip leaves such files out)")
                end
                skipped[#skipped + 1] = {name = files[first + k].name, message = message}
            else
                ok, err = nffi.try(C.nvp_pack_writer_add(writer, imgs[k].data, imgs[k].height, imgs[k].width))
                if not ok then return fail(err) end
                packed = packed + 1
            end
            C.nvp_images_free(imgs[k])
        end
        if os.time() - started >= 10 or first + n > #files then
            say(("%s: %d / %d files decoded"):format(path, first + n - 1, #files))
            started = os.time()
        end
    end
    if packed == 0 then return fail(("%s: every one of the %d files failed to decode"):format(path, #files)) end
    ok, err = nffi.try(C.nvp_pack_writer_finish(writer))
    if not ok then return nil, err end
    return packed, skipped
end

--- The pack at opts.path if it is current for opts.files and opts.decode, else (re)built first.
-- Returns the open Pack, or nil, message.
function M.ensure(opts)
    local want = M.fingerprint(opts.files, opts.decode)
    local p = fs.exists(opts.path) and M.open(opts.path) or nil
    if p and p.fingerprint == want then return p end
    local say = opts.say or function() end
    say(("%s: %s; decoding %d files once"):format(opts.path, p and "stale (the folder or the preprocessing changed)"
        or "no cache yet", #opts.files))
    p = nil
    collectgarbage()   -- unmap an old pack before the rename replaces it
    local packed, skipped = M.build(opts.path, opts.files, opts.decode, opts)
    if packed == nil then return nil, skipped end
    for i, s in ipairs(skipped) do
        if i <= 10 then say(("skipped %s"):format(s.message)) end
    end
    if #skipped > 10 then say(("skipped %d more files"):format(#skipped - 10)) end
    say(("%s: %d images packed%s"):format(opts.path, packed, #skipped > 0 and (", %d skipped"):format(#skipped) or ""))
    return M.open(opts.path)
end

--- An Images view of a fixed-size pack's payload (no copy; the pack stays mapped while it lives).
function Pack:images()
    if self.height == 0 then
        error(("%s: images of varying sizes have no fixed-size view (crop them)"):format(self.path), 2)
    end
    local imgs = images_mod.wrap(ffi.cast("uint8_t *", self.raw.payload), self.count, self.channels, self.height,
        self.width)
    imgs.storage = self  -- keeps the map alive
    return imgs
end

--- The central out_h x out_w crop of every image, in memory (an Images).
function Pack:crops(out_h, out_w)
    local out = images_mod.new(self.count, self.channels, out_h, out_w)
    local index = ffi.new("int64_t[?]", self.count)
    local y0, x0 = ffi.new("int32_t[?]", self.count), ffi.new("int32_t[?]", self.count)
    for i = 0, self.count - 1 do
        index[i] = i
        local h = self.height > 0 and self.height or self.raw.records[i].height
        local w = self.width > 0 and self.width or self.raw.records[i].width
        y0[i], x0[i] = preprocess.central_offset(h, w, out_h, out_w)
    end
    nffi.check(C.nvp_pack_gather(out.data, self.raw, index, y0, x0, nil, self.count, out_h, out_w), 2)
    return out
end

--- Height and width of image i (0-based).
function Pack:size_of(i)
    if self.height > 0 then return self.height, self.width end
    local r = self.raw.records[i]
    return r.height, r.width
end

return M
