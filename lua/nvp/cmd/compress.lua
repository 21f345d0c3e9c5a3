-- nvp compress CKPT INPUT...|split=test [out=FILE.nvpz sigma=14 delta=18 verify=1 images=N]: lossless
-- compression of images with a trained flow by local bits-back coding (nvp.compress.codec; Ho, Lohn,
-- Abbeel 2019), all images on one rANS stream, written atomically to a .nvpz file
-- (nvp.compress.container) that `nvp decompress` reads. sigma, delta: the noise scale 2^-sigma and the
-- grid 2^-delta (experiments/results/compress.md). Prints the file's bits/dim, the model's bits/dim on
-- the same images and dequantisation (what the coder realised), and the gap split into the initial
-- bits (one-time), the per-image overhead and the header. verify=1 decodes the file again and checks
-- every pixel.
local ffi = require "ffi"
local cli = require "nvp.cli"
local fs = require "nvp.fs"
local nffi = require "nvp.ffi"
local verb = require "nvp.likelihood.verb"
local output = require "nvp.likelihood.output"
local codec = require "nvp.compress.codec"
local stream = require "nvp.compress.stream"
local container = require "nvp.compress.container"

local M = {}

M.summary = "lossless compression with the flow: nvp compress CKPT INPUT...|split=test out=FILE.nvpz"

local KEYS = verb.keys{out = "string", sigma = "number", delta = "number", verify = "number"}

--- The header fields that tie a file to its checkpoint, engine and deterministic path.
function M.identity(ckpt_path)
    local bytes, err = fs.read(ckpt_path)
    if bytes == nil then error(("%s: cannot read: %s"):format(ckpt_path, tostring(err)), 0) end
    return {engine = ffi.string(nffi.C.nvp_version()), cpu_path = stream.CPU_PATH, threads = stream.THREADS,
            checkpoint = ckpt_path, checkpoint_fnv = container.fnv(bytes)}
end

--- The figures of a compressed set: bits/dim of the file, of the model, and the gap's parts (bits).
function M.accounting(stats, file_bytes, msg_bits, dims)
    local kept_init = stats.init_bits - 32 * stats.low_words
    local a = {file = 8 * file_bytes, model = stats.model_bits, per_image = stats.coded_bits - stats.model_bits,
               initial = kept_init}
    a.header = a.file - (msg_bits - 32 * stats.low_words)
    a.gap = a.file - a.model
    for _, k in ipairs{"file", "model", "per_image", "initial", "header", "gap"} do a[k .. "_bpd"] = a[k] / dims end
    return a
end

function M.run(args)
    local positional, o = cli.verb_args("compress", args, KEYS)
    local path = table.remove(positional, 1)
    if path == nil then cli.usage_error("compress needs a checkpoint: nvp compress CKPT INPUT... out=FILE.nvpz") end
    for _, k in ipairs{{"sigma", 1, 30}, {"delta", 9, 32}} do
        local v = o[k[1]]
        if v ~= nil and (v ~= math.floor(v) or v < k[2] or v > k[3]) then
            cli.usage_error(("compress: %s must be a whole number in [%d, %d] (the noise/grid is 2^-%s)"):format(k[1],
                k[2], k[3], k[1]))
        end
    end
    local ck = verb.open(path, o)
    local why = codec.unsupported(ck.model)
    if why then error(("%s: nvp compress cannot code %s (it codes Real NVP's and Glow's layers: couplings, batch "
        .. "norm, actnorm, 1x1 convolutions, squeezes, permutations, factor-outs, learned unconditional priors)")
        :format(path, why), 0) end
    local set = verb.images(ck, positional, o, "compress")
    local settings = {sigma_log2 = o.sigma, delta_log2 = o.delta}
    local header = M.identity(path)
    local msg, stats = stream.encode(ck.model, set.images, settings, set.names)
    local c = codec.new(ck.model, settings).s
    header.codec = {sigma_log2 = c.sigma_log2, delta_log2 = c.delta_log2, res = c.res, nbuckets = c.nbuckets,
                    precision = c.precision}
    header.images, header.channels = set.images.count, set.images.channels
    header.height, header.width = set.images.height, set.images.width
    header.init_pushes = stats.init_pushes
    local bytes = container.pack(header, msg)
    local out = o.out or "images.nvpz"
    local ok, err = output.text(out, bytes)
    if not ok then error(err, 0) end
    local n, dims = set.images.count, set.images.count * ck.model.dims
    local a = M.accounting(stats, #bytes, msg:bits(), dims)
    print(("wrote %s: %d image%s %dx%dx%d, %d bytes"):format(out, n, n == 1 and "" or "s", header.channels,
        header.height, header.width, #bytes))
    print(("  file   %.4f bits/dim"):format(a.file_bpd))
    print(("  model  %.4f bits/dim (-log2 p(v) on the dequantisation the coder realised)"):format(a.model_bpd))
    print(("  gap    %+.4f bits/dim (%+.3f %%) = initial bits %.4f (one-time, %d bits) + per image %+.4f + header %.4f")
        :format(a.gap_bpd, 100 * a.gap / a.model, a.initial_bpd, a.initial, a.per_image_bpd, a.header_bpd))
    print(("  encode %.2f s, %.2f images/s (%s path, %d thread)"):format(stats.seconds, n / stats.seconds,
        stream.CPU_PATH, stream.THREADS))
    for _, r in ipairs(stats.raw) do
        print(("  image %d sent raw (8 bits a sub-pixel; in the gap's per-image part): %s"):format(r[1], r[2]))
    end
    if o.verify == 1 then
        local back, seconds = stream.decode(ck.model, msg, n, settings)
        if ffi.C.memcmp(back.data, set.images.data, dims) ~= 0 then
            error(("%s: verify: the decoded pixels differ"):format(out), 0)
        end
        print(("  verify every pixel equal; decode %.2f s, %.2f images/s"):format(seconds, n / seconds))
    end
    return 0
end

pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")
return M
