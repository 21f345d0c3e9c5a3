-- Latents in and out (nvp.likelihood.latents; nvp encode, decode, interpolate) on a tiny trained model.
local ffi = require "ffi"
local fixture = dofile("spec/recipes/likelihood_fixture.lua")
local T = require "nvp.tensor"
local checkpoint = require "nvp.checkpoint"
local latents = require "nvp.likelihood.latents"
local inputs = require "nvp.likelihood.inputs"
local fs = require "nvp.fs"

describe("latents", function()
    local f, ck, images, exe
    setup(function()
        f, ck, images = fixture.open(20)
        exe = nvp_exe()
    end)
    teardown(function() fixture.remove(f) end)

    it("decodes its encodings to the input pixels exactly (0 levels)", function()
        local parts = latents.encode(ck.model, images, 7)
        assert.are.equal(2, #parts)
        assert.are.same({40, 2, 4, 4}, parts[1].shape)
        assert.are.same({40, 2, 4, 4}, parts[2].shape)
        local back = latents.decode(ck.model, parts, 11)
        assert.are.equal(0, latents.max_level_diff(images, back))
        -- the check itself sees a one-level change
        back.data[5] = back.data[5] + 1
        assert.are.equal(1, latents.max_level_diff(images, back))
    end)

    it("round-trips through the file: nvp encode, then nvp decode writes the input as PNGs", function()
        local zpath, dir = f.dir .. "/z.safetensors", f.dir .. "/decoded"
        local text, rc = fixture.sh(("%s encode %s %s out=%s"):format(exe, f.ckpt, f.test_idx, zpath))
        assert.are.equal(0, rc, text)
        assert.matches("scale1 %(40,2,4,4%), scale2 %(40,2,4,4%)", text)
        assert.matches("max |difference| 0 pixel levels", text, 1, true)
        local tensors, meta = assert(checkpoint.load(zpath))
        assert.are.equal("nvp-latents-1", meta["nvp.format"])
        assert.matches('t10k%-images%-idx3%-ubyte%.gz#40"%]$', meta["nvp.names"])
        assert.is_true(T.is_tensor(tensors.scale1))
        text, rc = fixture.sh(("%s decode %s %s out=%s"):format(exe, f.ckpt, zpath, dir))
        assert.are.equal(0, rc, text)
        local set = assert(inputs.load({dir}, {channels = 1, height = 8, width = 8}))
        assert.are.equal(40, set.images.count)
        assert.are.equal(dir .. "/000001.png", set.names[1])
        assert.are.equal(0, latents.max_level_diff(images, set.images))
        -- no temporaries left behind
        for name in require("lfs").dir(dir) do assert.is_nil(name:find("tmp", 1, true)) end
    end)

    it("refuses a latents file that does not fit the checkpoint, in one line naming the tensor", function()
        local parts = latents.encode(ck.model, images:narrow(1, 3))
        local function write(name, tensors, meta)
            local path = f.dir .. "/" .. name
            assert(checkpoint.save(path, tensors, meta or {["nvp.format"] = "nvp-latents-1"}))
            return path
        end
        local nan = parts[2]:clone()
        nan.data[3] = 0 / 0
        local cases = {
            {write("missing.safetensors", {scale1 = parts[1]}), "tensor 'scale2' is missing %(the checkpoint's model has 2 scales%)"},
            {write("shape.safetensors", {scale1 = parts[1], scale2 = T.zeros{3, 4, 2, 4}}),
             "tensor 'scale2' is %(3,4,2,4%), the checkpoint expects %(3,2,4,4%)"},
            {write("extra.safetensors", {scale1 = parts[1], scale2 = parts[2], scale3 = parts[2]}),
             "unexpected tensor 'scale3'"},
            {write("nan.safetensors", {scale1 = parts[1], scale2 = nan}), "tensor 'scale2' holds 1 non%-finite values"},
            {write("format.safetensors", {scale1 = parts[1], scale2 = parts[2]}, {}), "not an nvp latents file"},
            {f.ckpt, "not an nvp latents file %(metadata nvp.format is 'nvp%-checkpoint%-%d+'"},
        }
        for _, case in ipairs(cases) do
            local out = f.dir .. "/refused"
            local text, rc = fixture.sh(("%s decode %s %s out=%s"):format(exe, f.ckpt, case[1], out))
            assert.are.equal(1, rc, text)
            assert.matches(case[2], text)
            assert.are.equal(1, select(2, text:gsub("\n", "")), text)
            assert.is_false(fs.exists(out))
        end
    end)

    it("interpolates on the sphere between two images' latents", function()
        local a, b = T.randn({1, 2, 4, 4}, 1), T.randn({1, 2, 4, 4}, 2)
        assert.are.equal(0, latents.slerp(a, b, 0):max_abs_diff(a))
        assert.is_true(latents.slerp(a, b, 1):max_abs_diff(b) < 1e-5)
        -- the norm stays between the ends' (equal norms: constant)
        local c = b:clone():scale(math.sqrt(a:sumsq() / b:sumsq()))
        for _, t in ipairs{0.25, 0.5, 0.75} do
            assert_close(math.sqrt(latents.slerp(a, c, t):sumsq()), math.sqrt(a:sumsq()), 1e-5, 0)
        end
        local out = f.dir .. "/strip.png"
        local pa, pb = f.dir .. "/a.png", f.dir .. "/b.png"
        local output = require "nvp.likelihood.output"
        assert(output.png(pa, images.data, 8, 8, 1))
        assert(output.png(pb, images.data + 64 * 5, 8, 8, 1))
        local text, rc = fixture.sh(("%s interpolate %s %s %s steps=5 out=%s"):format(exe, f.ckpt, pa, pb, out))
        assert.are.equal(0, rc, text)
        local raw = ffi.new("nvp_images")
        assert(require("nvp.ffi").try(NVP.nvp_png_read(raw, out, 1)))
        local strip = require("nvp.data.images").adopt(raw)
        assert.are.equal(5 * 8 + 6 * 2, strip.width)
        assert.are.equal(8 + 2 * 2, strip.height)
        -- the first and last cells are a and b reconstructed (exactly: 0 levels)
        for y = 0, 7 do
            for x = 0, 7 do
                assert.are.equal(images.data[y * 8 + x], strip.data[(y + 2) * strip.width + x + 2])
                assert.are.equal(images.data[320 + y * 8 + x], strip.data[(y + 2) * strip.width + 4 * 10 + 2 + x])
            end
        end
        text, rc = fixture.sh(("%s interpolate %s %s out=%s"):format(exe, f.ckpt, pa, out))
        assert.are.equal(2, rc, text)
        text, rc = fixture.sh(("%s interpolate %s %s %s steps=1"):format(exe, f.ckpt, pa, pb))
        assert.are.equal(2, rc, text)
        assert.matches("steps must be an integer from 2 to 1000", text)
    end)
end)
