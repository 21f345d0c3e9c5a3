-- nvp decompress FILE.nvpz [out=DIR ckpt=CKPT]: the images of a file written by `nvp compress`, one PNG
-- each, DIR/000001.png ... in the file's order; out=NAME.idx or NAME-ubyte: one IDX file (grey images). The checkpoint is the one named in the file (or ckpt=);
-- its FNV-1a hash, the engine version and the deterministic path must match the header's, and the
-- stream must decode to the end at exactly its initial bits: otherwise the file is refused in one line
-- naming it, and nothing is written (every image is decoded before the first PNG is written).
local cli = require "nvp.cli"
local fs = require "nvp.fs"
local verb = require "nvp.likelihood.verb"
local output = require "nvp.likelihood.output"
local stream = require "nvp.compress.stream"
local container = require "nvp.compress.container"
local compress = require "nvp.cmd.compress"

local M = {}

M.summary = "images back from nvp compress's file: nvp decompress FILE.nvpz [out=DIR|FILE.idx ckpt=CKPT]"

local KEYS = {out = "string", ckpt = "string"}

--- The images of the .nvpz file at path (its bytes: `bytes`), with the checkpoint at ckpt_path (nil: the
-- header's). Returns images, seconds; raises "path: why" in one line.
function M.decompress(path, bytes, ckpt_path)
    local h, err = container.unpack(bytes, path)
    if h == nil then error(err, 0) end
    ckpt_path = ckpt_path or h.checkpoint
    local id = compress.identity(ckpt_path)
    if id.checkpoint_fnv ~= h.checkpoint_fnv then
        error(("%s: compressed with another checkpoint (FNV-1a %s, %s is %s)"):format(path, tostring(h.checkpoint_fnv),
            ckpt_path, id.checkpoint_fnv), 0)
    end
    for _, k in ipairs{"engine", "cpu_path", "threads"} do
        if h[k] ~= id[k] then
            error(("%s: written with %s %s, this nvp decodes with %s (refused: the networks must match bit for bit)")
                :format(path, k, tostring(h[k]), tostring(id[k])), 0)
        end
    end
    local ck = verb.open(ckpt_path)
    local cfg = ck.model.cfg
    if h.channels ~= cfg.channels or h.height ~= cfg.height or h.width ~= cfg.width_px then
        error(("%s: images %sx%sx%s, the checkpoint's model takes %dx%dx%d"):format(path, tostring(h.channels),
            tostring(h.height), tostring(h.width), cfg.channels, cfg.height, cfg.width_px), 0)
    end
    if h.init_pushes ~= stream.init_pushes(ck.model.dims) then
        error(("%s: %s initial pushes, this nvp makes %d"):format(path, tostring(h.init_pushes),
            stream.init_pushes(ck.model.dims)), 0)
    end
    local msg
    msg, err = container.message(h, stream.initial_message(h.init_pushes), path)
    if msg == nil then error(err, 0) end
    local ok, images, seconds = pcall(stream.decode, ck.model, msg, h.images, h.codec)
    if not ok then error(("%s: %s"):format(path, tostring(images)), 0) end
    return images, seconds
end

function M.run(args)
    local positional, o = cli.verb_args("decompress", args, KEYS)
    if #positional ~= 1 then cli.usage_error("decompress needs one file: nvp decompress FILE.nvpz [out=DIR]") end
    local path = positional[1]
    local bytes, err = fs.read(path)
    if bytes == nil then error(("%s: cannot read: %s"):format(path, tostring(err)), 0) end
    local images, seconds = M.decompress(path, bytes, o.ckpt)
    local dir = o.out or "decompressed"
    local as_idx = dir:match("%.idx$") or dir:match("%-ubyte$")
    local ok, werr
    if as_idx then ok, werr = output.idx(dir, images) else ok, werr = output.pngs(dir, images) end
    if not ok then error(werr, 0) end
    print(("wrote %d images (%dx%dx%d) to %s%s: decode %.2f s, %.2f images/s (%s path, %d thread)"):format(
        images.count, images.channels, images.height, images.width, dir, as_idx and "" or "/", seconds,
        images.count / seconds, stream.CPU_PATH, stream.THREADS))
    return 0
end

return M
