-- nvp encode CKPT INPUT...|split=test [out=latents.safetensors resize=1 convert=1 images=N]: every
-- image's latents, one F32 tensor per scale ("scale1" finest .. "scaleL" coarsest, (N, C_k, H_k, W_k)),
-- in a safetensors file readable from Python (nvp.likelihood.latents), with the images' names in its
-- metadata. Encoding is deterministic (u = 1/2); the round trip decode(encode(x)) is checked and
-- reported as the largest difference in pixel levels.
local cli = require "nvp.cli"
local T = require "nvp.tensor"
local verb = require "nvp.likelihood.verb"
local latents = require "nvp.likelihood.latents"

local M = {}

M.summary = "latents of images: nvp encode CKPT INPUT...|split=test [out=latents.safetensors]"

local KEYS = verb.keys{out = "string"}

function M.run(args)
    local positional, o = cli.verb_args("encode", args, KEYS)
    local path = table.remove(positional, 1)
    if path == nil then cli.usage_error("encode needs a checkpoint: nvp encode CKPT INPUT... [out=latents.safetensors]") end
    local ck = verb.open(path, o)
    local set = verb.images(ck, positional, o, "encode")
    local parts = latents.encode(ck.model, set.images, o.batch)
    local back = latents.decode(ck.model, parts, o.batch)
    local diff = latents.max_level_diff(set.images, back)
    local out = o.out or "latents.safetensors"
    local ok, err = latents.save(out, ck.model, parts, set.names, {checkpoint = path, round_trip_levels = diff})
    if not ok then error(err, 0) end
    local shapes = {}
    for k, p in ipairs(parts) do shapes[k] = ("scale%d %s"):format(k, T.shape_string(p.shape)) end
    print(("wrote %s: %d images, %s"):format(out, set.images.count, table.concat(shapes, ", ")))
    print(("round trip decode(encode(x)): max |difference| %d pixel level%s"):format(diff, diff == 1 and "" or "s"))
    return 0
end

return M
