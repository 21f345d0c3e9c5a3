-- nvp decode CKPT LATENTS.safetensors [out=DIR]: images from a latents file written by `nvp encode`
-- (or by anyone: the file is checked against the checkpoint's latent names and shapes, its values must
-- be finite, and nothing in it runs), one PNG per image, DIR/000001.png ... in the file's order (names
-- are numbers, never taken from the file). Each PNG is written to a temporary and renamed.
local cli = require "nvp.cli"
local verb = require "nvp.likelihood.verb"
local latents = require "nvp.likelihood.latents"
local output = require "nvp.likelihood.output"

local M = {}

M.summary = "images from latents: nvp decode CKPT latents.safetensors [out=DIR]"

local KEYS = {out = "string", threads = "number", batch = "number"}

function M.run(args)
    local positional, o = cli.verb_args("decode", args, KEYS)
    if #positional ~= 2 then cli.usage_error("decode needs a checkpoint and a latents file: nvp decode CKPT latents.safetensors [out=DIR]") end
    local ck = verb.open(positional[1], o)
    local parts, count = latents.load(positional[2], ck.model)
    if parts == nil then error(count, 0) end
    local images = latents.decode(ck.model, parts, o.batch)
    local dir = o.out or "decoded"
    local ok, err = output.pngs(dir, images)
    if not ok then error(err, 0) end
    print(("wrote %d images (%dx%d) to %s/"):format(count, images.width, images.height, dir))
    return 0
end

return M
