-- The images the likelihood verbs take (nvp.likelihood.inputs): every kind of file, the refusals of
-- the wrong size or channels, resize=1 and convert=1; the complexity score and nvp ood end to end.
local ffi = require "ffi"
local fixture = dofile("spec/recipes/likelihood_fixture.lua")
local idx = require "nvp.data.idx"
local inputs = require "nvp.likelihood.inputs"
local output = require "nvp.likelihood.output"
local complexity = require "nvp.likelihood.complexity"
local images_mod = require "nvp.data.images"
local json = require "nvp.json"
local fs = require "nvp.fs"

local GREY8 = {channels = 1, height = 8, width = 8}

describe("likelihood inputs", function()
    local f, exe, dir
    setup(function()
        f = fixture.make(10)
        exe = nvp_exe()
        dir = f.dir
        local px = ffi.new("uint8_t[?]", 16 * 16 * 3)
        for i = 0, 16 * 16 * 3 - 1 do px[i] = (i * 37) % 256 end
        assert(output.png(dir .. "/rgb16.png", px, 16, 16, 3))
        assert(output.png(dir .. "/rgb8.png", px, 8, 8, 3))
        assert(output.png(dir .. "/grey16.png", px, 16, 16, 1))
        assert(output.png(dir .. "/grey8.png", px, 8, 8, 1))
        assert(require("nvp.ffi").try(NVP.nvp_jpeg_write(dir .. "/grey8.jpg", px, 8, 8, 1, 95)))
        -- a CIFAR-10 batch of 3 records
        local rec = {}
        for r = 1, 3 do rec[r] = string.char(r) .. ("\100"):rep(1024) .. ("\150"):rep(1024) .. ("\200"):rep(1024) end
        assert(fs.write(dir .. "/three.bin", table.concat(rec)))
    end)
    teardown(function() fixture.remove(f) end)

    it("reads PNG, JPEG, IDX, CIFAR files and folders, named per image", function()
        assert.are.equal("png", (inputs.probe(dir .. "/grey8.png")))
        local kind, stored = inputs.probe(dir .. "/grey8.jpg")
        assert.are.equal("jpeg", kind)
        assert.are.same({channels = 1, height = 8, width = 8}, stored)
        local _, rgb = inputs.probe(dir .. "/rgb16.png")
        assert.are.same({channels = 3, height = 16, width = 16}, rgb)
        assert.are.equal("idx", (inputs.probe(f.test_idx)))
        assert.are.equal("cifar", (inputs.probe(dir .. "/three.bin")))
        local set = assert(inputs.load({dir .. "/grey8.png", dir .. "/grey8.jpg", f.test_idx}, GREY8))
        assert.are.equal(42, set.images.count)
        assert.are.equal(dir .. "/grey8.jpg", set.names[2])
        assert.are.equal(f.test_idx .. "#1", set.names[3])
        -- the IDX images are the reader's, in order
        local ref = assert(idx.read_images(f.test_idx))
        for i = 0, 40 * 64 - 1 do assert(set.images.data[2 * 64 + i] == ref.data[i]) end
        local folder = dir .. "/folder"
        assert(fs.mkdir_p(folder .. "/sub"))
        os.execute(("cp %s/grey8.png %s/sub/b.png && cp %s/grey8.jpg %s/a.jpg"):format(dir, folder, dir, folder))
        set = assert(inputs.load({folder}, GREY8))
        assert.are.same({folder .. "/a.jpg", folder .. "/sub/b.png"}, set.names)
        set = assert(inputs.load({dir .. "/three.bin"}, GREY8, {resize = true, convert = true}))
        assert.are.equal(3, set.images.count)
        -- BT.601: 0.299 * 100 + 0.587 * 150 + 0.114 * 200 = 140.75 -> 141, flat after resizing
        assert.are.equal(141, set.images.data[0])
        assert.are.equal(141, set.images.data[3 * 64 - 1])
    end)

    it("refuses another size or channel count in one line, unless asked to resize or convert", function()
        local cases = {
            {dir .. "/rgb16.png", "rgb16%.png: 16x16 RGB, the checkpoint expects 8x8 grey %(convert=1 converts RGB to grey%)"},
            {dir .. "/rgb8.png", "rgb8%.png: 8x8 RGB, the checkpoint expects 8x8 grey %(convert=1"},
            {dir .. "/grey16.png", "grey16%.png: 16x16 grey, the checkpoint expects 8x8 grey %(resize=1 resizes%)"},
            {dir .. "/three.bin", "three%.bin: 32x32 RGB, the checkpoint expects 8x8 grey"},
        }
        for _, case in ipairs(cases) do
            local set, err = inputs.load({case[1]}, GREY8)
            assert.is_nil(set)
            assert.matches(case[2], err)
            local out = dir .. "/refused.jsonl"
            local text, rc = fixture.sh(("%s score %s %s out=%s"):format(exe, f.ckpt, case[1], out))
            assert.are.equal(1, rc, text)
            assert.matches(case[2], text)
            assert.are.equal(1, select(2, text:gsub("\n", "")), text)
            assert.is_false(fs.exists(out))
        end
        local set = assert(inputs.load({dir .. "/grey16.png"}, GREY8, {resize = true}))
        assert.are.equal(8, set.images.width)
        set = assert(inputs.load({dir .. "/rgb16.png"}, GREY8, {resize = true, convert = true}))
        assert.are.equal(1, set.images.channels)
        -- grey into an RGB model: replicated
        set = assert(inputs.load({dir .. "/grey8.png"}, {channels = 3, height = 8, width = 8}, {convert = true}))
        assert.are.equal(set.images.data[5], set.images.data[64 + 5])
        assert.are.equal(set.images.data[5], set.images.data[128 + 5])
        local text, rc = fixture.sh(("%s score %s %s resize=1 convert=1 out=%s/ok.jsonl"):format(exe, f.ckpt,
            dir .. "/rgb16.png", dir))
        assert.are.equal(0, rc, text)
    end)

    it("refuses every hostile image, IDX and CIFAR file in one line naming it", function()
        local lfs = require "lfs"
        local seen = 0
        for _, kind in ipairs{"png", "jpeg", "idx", "cifar", "imagefolder"} do
            local d = "spec/reliability/hostile/" .. kind
            for name in lfs.dir(d) do
                if name:sub(1, 1) ~= "." then
                    local path = d .. "/" .. name
                    local set, err = inputs.load({path}, GREY8)
                    assert.is_nil(set, path)
                    assert.is_truthy(err:find(path, 1, true), err)
                    assert.is_nil(err:find("\n"), err)
                    seen = seen + 1
                end
            end
        end
        assert.is_true(seen >= 20, tostring(seen))
        -- and latents files: every hostile safetensors case
        for name in lfs.dir("spec/reliability/hostile/safetensors") do
            if name:sub(1, 1) ~= "." then
                local path = "spec/reliability/hostile/safetensors/" .. name
                local ck = assert(require("nvp.run").open(f.ckpt))
                local parts, err = require("nvp.likelihood.latents").load(path, ck.model)
                assert.is_nil(parts, path)
                assert.is_truthy(err:find(path, 1, true), err)
                assert.is_nil(err:find("\n"), err)
            end
        end
    end)

    it("measures complexity as PNG bits: flat < noise", function()
        local flat = images_mod.new(2, 1, 8, 8)
        ffi.fill(flat.data, 64, 90)
        local state = 3
        for i = 64, 127 do
            state = (state * 1103515245 + 12345) % 2147483648
            flat.data[i] = math.floor(state / 65536) % 256
        end
        local bits = assert(complexity.png_bits(flat))
        -- a flat image: the zlib framing (header, one block, Adler-32) and 8 rows of 9 equal bytes
        assert.is_true(bits[1] > 0 and bits[1] < 400, tostring(bits[1]))
        -- 64 random bytes do not compress: at least 8 bits each
        assert.is_true(bits[2] >= 64 * 8 and bits[2] > bits[1] + 200, tostring(bits[2]))
        -- the IDAT walk counts only IDAT data
        local fake = "\137PNG\r\n\26\n" .. "\0\0\0\2IHDRab" .. "CRC!" .. "\0\0\0\3IDATxyz" .. "CRC!" .. "\0\0\0\0IENDCRC!"
        assert.are.equal(24, complexity.idat_bits(fake))
    end)

    it("separates inverted images from the training distribution (nvp ood)", function()
        local ref = assert(idx.read_images(f.test_idx))
        local inv = dir .. "/inverted"
        assert(fs.mkdir_p(inv))
        for k = 0, 9 do
            local px = ffi.new("uint8_t[64]")
            for i = 0, 63 do px[i] = 255 - ref.data[k * 64 + i] end
            assert(output.png(("%s/%02d.png"):format(inv, k), px, 8, 8, 1))
        end
        local fig, js = dir .. "/ood.png", dir .. "/ood.json"
        local text, rc = fixture.sh(("%s ood %s in_split=test root=%s out=%s figure=%s json=%s"):format(exe, f.ckpt,
            dir, inv, fig, js))
        assert.are.equal(0, rc, text)
        assert.matches("bpd%s+AUROC [%d.]+  FPR@95%%TPR [%d.]+", text)
        assert.matches("corrected%s+AUROC", text)
        local doc = assert(json.decode(assert(fs.read(js))))
        assert.are.equal(40, doc.inliers)
        assert.are.equal(10, doc.outliers)
        assert.is_true(doc.bpd.auroc >= 0 and doc.bpd.auroc <= 1)
        local kind, stored = inputs.probe(fig)
        assert.are.equal("png", kind)
        assert.are.equal(3, stored.channels)
        -- the panel for the results page names both scores
        local html = require("nvp.likelihood.ood").panel_html({bpd = {auroc = 0.9, fpr95 = 0.2, mean_in = 3, mean_out = 4},
            corrected = {auroc = 0.4, fpr95 = 0.7, mean_in = 1, mean_out = 0.5}}, "ood.png")
        assert.matches('<img src="ood.png"', html, 1, true)
        assert.matches("<td>0.4000</td><td>0.7000</td>", html, 1, true)
        -- a run directory with ood.json and its figure gets a self-contained panel; one without gets none
        local panel = assert(require("nvp.likelihood.ood").panel_for_run(dir))
        assert.matches('<img src="data:image/png;base64,', panel, 1, true)
        assert.matches(("<td>%.4f</td>"):format(doc.bpd.auroc), panel, 1, true)
        assert.is_nil(require("nvp.likelihood.ood").panel_for_run(inv))
        -- and the results page shows it under the run's row
        local page = require("nvp.viz.page").html({{dir = dir, name = "r"}}, {})
        assert.matches('<tr class="ood"><td colspan="%d+"><', page)
        assert.matches(("<td>%.4f</td>"):format(doc.bpd.auroc), page, 1, true)
        text, rc = fixture.sh(("%s ood %s out=%s"):format(exe, f.ckpt, inv))
        assert.are.equal(2, rc, text)
        assert.matches("give the inliers", text)
    end)
end)
