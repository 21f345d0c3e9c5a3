-- experiments/compress_bench.lua: nvp compress beside PNG at maximum compression (nvp's PNG writer, then
-- optipng -o7), WebP lossless (cwebp -lossless -z 9) and JPEG XL lossless (cjxl -d 0 -e 9) on Fashion-MNIST
-- test images: bits/dim per image (each image its own file) and as a set (nvp: one stream; the others: one
-- mosaic image of the whole set), encode and decode images/s, every decode checked against the input.
-- Writes the section between <!-- compress_bench: begin/end --> of `out`.
--
--   build/nvp experiments/compress_bench.lua ckpt=runs/fm/best.safetensors n=300 [first=1 single=10
--       data=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz out=experiments/results/compress.md
--       nvp=1 section=compress_bench]
-- nvp=0 runs the classical codecs alone (a large n, where nvp's own figures come from `nvp compress`);
-- section names the <!-- NAME: begin/end --> markers the table replaces.
--
-- nvp runs on the scalar path with one thread (what its file records); the classical codecs are one
-- process per file (their decoders write a PNG; PNG's decode is libpng's read in this process), so their
-- per-image speeds include a process start (a few ms).
-- single = k: the per-image nvp figure is the mean of k one-image files (header and initial bits
-- included: what a file of one image costs). Tools: bash .ci/setup .ci/packages-experiments.txt.
local opts = ... or {}
local ffi = require "ffi"
local run = require "nvp.run"
local idx = require "nvp.data.idx"
local fs = require "nvp.fs"
local clock = require "nvp.clock"
local nffi = require "nvp.ffi"
local images_mod = require "nvp.data.images"
local stream = require "nvp.compress.stream"
local container = require "nvp.compress.container"
local compress = require "nvp.cmd.compress"
local page = dofile("experiments/results_page.lua")
local C = nffi.C

local ckpt = opts.ckpt or error("compress_bench: give ckpt=PATH (a Fashion-MNIST checkpoint)", 0)
local n, first, single = opts.n or 100, opts.first or 1, opts.single or 10
local data = opts.data or "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
local out = opts.out or "experiments/results/compress.md"
local with_nvp, section = opts.nvp ~= 0, opts.section or "compress_bench"

local ck = assert(run.open(ckpt))
ck.model:evaluate()
local all = assert(idx.read_images(data))
local images = all:narrow(first, n)
local h, w = images.height, images.width
local dims = n * images.channels * h * w
local tmp = os.tmpname()
os.remove(tmp)
assert(require("lfs").mkdir(tmp))

local function sh(cmd)
    local ok = os.execute(cmd .. " >/dev/null 2>&1")
    if ok ~= 0 and ok ~= true then error("compress_bench: failed: " .. cmd, 0) end
end

local function size(path) return require("lfs").attributes(path, "size") end

local function have(tool) return os.execute("command -v " .. tool .. " >/dev/null 2>&1") == 0 end

local rows = {}

-- ---- nvp ----------------------------------------------------------------------------------------
if with_nvp then
    local msg, stats = stream.encode(ck.model, images)
    local header = compress.identity(ckpt)
    local c = require("nvp.compress.codec").new(ck.model).s
    header.codec = {sigma_log2 = c.sigma_log2, delta_log2 = c.delta_log2, res = c.res, nbuckets = c.nbuckets,
                    precision = c.precision}
    header.images, header.channels, header.height, header.width = n, images.channels, h, w
    header.init_pushes = stats.init_pushes
    local bytes = container.pack(header, msg)
    local hd = assert(container.unpack(bytes, "bench.nvpz"))
    local back_msg = assert(container.message(hd, stream.initial_message(hd.init_pushes), "bench.nvpz"))
    local back, dec_s = stream.decode(ck.model, back_msg, n, hd.codec)
    assert(ffi.C.memcmp(back.data, images.data, dims) == 0, "nvp: decoded pixels differ")
    local a = compress.accounting(stats, #bytes, msg:bits(), dims)
    -- one-image files: header and initial bits included
    local one_bytes, one_enc, one_dec = 0, 0, 0
    for i = 1, single do
        local one = images:narrow(i, 1)
        local m1, s1 = stream.encode(ck.model, one)
        local hdr = compress.identity(ckpt)
        hdr.codec, hdr.images, hdr.init_pushes = header.codec, 1, s1.init_pushes
        local b1 = container.pack(hdr, m1)
        local _, d1 = stream.decode(ck.model, m1, 1, header.codec)
        one_bytes, one_enc, one_dec = one_bytes + #b1, one_enc + s1.seconds, one_dec + d1
    end
    rows.nvp = {name = "nvp compress (local bits-back, this model)", set = a.file_bpd, per = 8 * one_bytes /
        (single * dims / n), enc = n / stats.seconds, dec = n / dec_s, enc1 = single / one_enc, dec1 = single / one_dec,
        acc = a, bytes = #bytes}
    print(("nvp: file %.4f bits/dim, model %.4f, gap %+.4f (initial %.4f, per image %+.4f, header %.4f); "
        .. "%.2f / %.2f images/s; one-image files %.4f bits/dim"):format(a.file_bpd, a.model_bpd, a.gap_bpd,
        a.initial_bpd, a.per_image_bpd, a.header_bpd, rows.nvp.enc, rows.nvp.dec, rows.nvp.per))
end

-- ---- the classical codecs: one PNG per image and one mosaic PNG as their input ------------------
local cols = math.ceil(math.sqrt(n))
local rows_m = math.ceil(n / cols)
local mosaic = ffi.new("uint8_t[?]", cols * w * rows_m * h)
for i = 0, n - 1 do
    local r, c = math.floor(i / cols), i % cols
    for y = 0, h - 1 do
        ffi.copy(mosaic + ((r * h + y) * cols + c) * w, images.data + i * h * w + y * w, w)
    end
end
for i = 1, n do
    nffi.check(C.nvp_png_write(("%s/%06d.png"):format(tmp, i), images.data + (i - 1) * h * w, w, h, 1))
end
nffi.check(C.nvp_png_write(tmp .. "/mosaic.png", mosaic, cols * w, rows_m * h, 1))
local mosaic_dims = cols * w * rows_m * h -- padding images (zeros) are coded too: bits/dim over the n images

-- A lossless decode, checked: the PNG the tool wrote back equals the mosaic.
local function check_mosaic(png_path, what)
    local im = ffi.new("nvp_images")
    nffi.check(C.nvp_png_read(im, png_path, 1))
    local got = images_mod.adopt(im)
    assert(ffi.C.memcmp(got.data, mosaic, mosaic_dims) == 0, what .. ": the decoded mosaic differs")
end

local codecs = {
    {key = "png", name = "PNG, optipng -o7 (libpng/zlib, maximum compression)", tool = "optipng", ext = "png",
     enc = function(src, dst) sh(("cp %s %s && optipng -o7 -quiet %s"):format(src, dst, dst)) end,
     dec = function(src, dst) -- libpng's decode in this process, then the file as the others' decoders write it
        local im = ffi.new("nvp_images")
        nffi.check(C.nvp_png_read(im, src, 1))
        images_mod.adopt(im)
        sh(("cp %s %s"):format(src, dst))
     end},
    {key = "webp", name = "WebP lossless, cwebp -lossless -z 9", tool = "cwebp", ext = "webp",
     enc = function(src, dst) sh(("cwebp -quiet -lossless -z 9 %s -o %s"):format(src, dst)) end,
     dec = function(src, dst) sh(("dwebp -quiet %s -o %s"):format(src, dst)) end},
    {key = "jxl", name = "JPEG XL lossless, cjxl -d 0 -e 9", tool = "cjxl", ext = "jxl",
     enc = function(src, dst) sh(("cjxl -d 0 -e 9 --quiet %s %s"):format(src, dst)) end,
     dec = function(src, dst) sh(("djxl --quiet %s %s"):format(src, dst)) end},
}
for _, cd in ipairs(codecs) do
    if not have(cd.tool) then
        print(("%s: %s is not installed (bash .ci/setup .ci/packages-experiments.txt): skipped"):format(cd.key,
            cd.tool))
    else
        local total, t0 = 0, clock()
        for i = 1, n do
            local dst = ("%s/%06d.%s.%s"):format(tmp, i, cd.key, cd.ext)
            cd.enc(("%s/%06d.png"):format(tmp, i), dst)
            total = total + size(dst)
        end
        local enc1 = n / (clock() - t0)
        t0 = clock()
        for i = 1, n do
            cd.dec(("%s/%06d.%s.%s"):format(tmp, i, cd.key, cd.ext), ("%s/%06d.%s.out.png"):format(tmp, i, cd.key))
        end
        local dec1 = n / (clock() - t0)
        local dst = ("%s/mosaic.%s.%s"):format(tmp, cd.key, cd.ext)
        t0 = clock()
        cd.enc(tmp .. "/mosaic.png", dst)
        local enc = n / (clock() - t0)
        t0 = clock()
        cd.dec(dst, tmp .. "/mosaic." .. cd.key .. ".out.png")
        local dec = n / (clock() - t0)
        check_mosaic(tmp .. "/mosaic." .. cd.key .. ".out.png", cd.key)
        rows[cd.key] = {name = cd.name, per = 8 * total / dims, set = 8 * size(dst) / dims, enc = enc, dec = dec,
                        enc1 = enc1, dec1 = dec1}
        print(("%s: per image %.4f bits/dim, set %.4f; set %.1f / %.1f images/s, per image %.1f / %.1f"):format(cd.key,
            rows[cd.key].per, rows[cd.key].set, enc, dec, enc1, dec1))
    end
end
os.execute("rm -rf " .. tmp)

-- ---- the page -------------------------------------------------------------------------------------
local cpu = page.cpu_model()
local nv = rows.nvp
local a = nv and nv.acc
local lines = {
    ("Measured %s UTC by `build/nvp experiments/compress_bench.lua ckpt=%s n=%d first=%d single=%d%s`; CPU: %s; "
        .. "Fashion-MNIST test images %d..%d (%s). bits/dim over the %d images' %d sub-pixels; speeds are wall "
        .. "time, nvp on the scalar path with one thread, the others one process per file (their decoders write "
        .. "a PNG), while other jobs shared the machine.%s"):format(
        os.date("!%Y-%m-%d %H:%M"), ckpt, n, first, single,
        with_nvp and "" or (" nvp=0 section=%s"):format(section), cpu, first, first + n - 1, data, n, dims,
        with_nvp and "" or (" nvp=0: the classical codecs only (section %s)."):format(section)),
    "",
    "| codec | set: bits/dim | per image: bits/dim | set: encode / decode images/s | per image: encode / decode "
        .. "images/s |",
    "| --- | --- | --- | --- | --- |",
}
for _, key in ipairs{"nvp", "png", "webp", "jxl"} do
    local r = rows[key]
    if r then
        lines[#lines + 1] = ("| %s | %.4f | %.4f | %.2f / %.2f | %.2f / %.2f |"):format(r.name, r.set, r.per, r.enc,
            r.dec, r.enc1, r.dec1)
    end
end
lines[#lines + 1] = ""
if with_nvp then lines[#lines + 1] = ("nvp's set file: %d bytes = %.4f bits/dim; the model on the same images and dequantisation: "
    .. "%.4f bits/dim; gap %+.4f bits/dim (%+.3f %%) = initial bits %.4f (one-time: %d bits) + per image %+.4f "
    .. "+ header %.4f. Per image for nvp: the mean of %d one-image files (each with its header and initial "
    .. "bits); per image for the others: one file per image; set: one stream (nvp) or one %dx%d mosaic of the "
    .. "images (the others; %d blank padding images coded too)."):format(nv.bytes, a.file_bpd, a.model_bpd,
    a.gap_bpd, 100 * a.gap / a.model, a.initial_bpd, a.initial, a.per_image_bpd, a.header_bpd, single, cols, rows_m,
    cols * rows_m - n)
else lines[#lines + 1] = ("Set: one %dx%d mosaic of the images (%d blank padding images coded too); per image: one "
    .. "file per image."):format(cols, rows_m, cols * rows_m - n) end
page.replace_section(out, section, lines)
print("wrote " .. out)
