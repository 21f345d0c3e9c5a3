-- The visualization library and figures (nvp.viz.*), the GIF encoder and the results page, on tiny
-- untrained models with synthetic held-out images (no dataset, no training).
local ffi = require "ffi"
local flow = require "nvp.flow"
local images_mod = require "nvp.data.images"
local latent = require "nvp.viz.latent"
local figures = require "nvp.viz.figures"
local gif = require "nvp.viz.gif"
local webp = require "nvp.viz.webp"
local grid = require "nvp.viz.grid"
local base64 = require "nvp.viz.base64"
local page = require "nvp.viz.page"
local fs = require "nvp.fs"

local RECIPE = [[return {name = "tiny", description = "a tiny test model",
    data = {dataset = "fashion_mnist", heldout = "test"}, model = {scales = 2, width = 4, blocks = 1}}]]

local function tiny_model(scales)
    return flow.RealNVP.new{channels = 1, size = 8, scales = scales or 2, width = 4, blocks = 1, seed = 3}
end

-- n synthetic 8x8 gray images spanning 0..255 (edges included).
local function synthetic(n)
    local x = images_mod.new(n, 1, 8, 8)
    for i = 0, n * 64 - 1 do x.data[i] = (i * 37 + math.floor(i / 64) * 11) % 256 end
    x.data[0], x.data[1] = 0, 255
    return x
end

-- n synthetic 8x8 RGB images.
local function synthetic_rgb(n)
    local x = images_mod.new(n, 3, 8, 8)
    for i = 0, n * 192 - 1 do x.data[i] = (i * 53 + math.floor(i / 192) * 29) % 256 end
    return x
end

local function max_diff(a, b, bytes)
    local worst = 0
    for i = 0, bytes - 1 do worst = math.max(worst, math.abs(a[i] - b[i])) end
    return worst
end

-- Palette indices of every frame of a GIF with a global palette: a plain LZW decoder (GIF89a appendix F),
-- independent of the encoder's trie.
local function gif_frames(s)
    local pos = 13 + 3 * 2 ^ (bit.band(s:byte(11), 7) + 1)
    local frames = {}
    local function sub_blocks(p)
        local parts = {}
        while true do
            local n = s:byte(p + 1)
            p = p + 1
            if n == 0 then return table.concat(parts), p end
            parts[#parts + 1] = s:sub(p + 1, p + n)
            p = p + n
        end
    end
    while s:byte(pos + 1) ~= 0x3B do
        if s:byte(pos + 1) == 0x21 then
            local _
            _, pos = sub_blocks(pos + 2)
        else
            local min = s:byte(pos + 11)
            local data
            data, pos = sub_blocks(pos + 11)
            local clear, size, bitpos, free, prev = 2 ^ min, min + 1, 0, 2 ^ min + 2, nil
            local dict, out = {}, {}
            for i = 0, clear - 1 do dict[i] = string.char(i) end
            while true do
                local code = 0
                for k = 0, size - 1 do
                    local byte = data:byte(math.floor((bitpos + k) / 8) + 1)
                    if bit.band(byte, bit.lshift(1, (bitpos + k) % 8)) ~= 0 then code = code + 2 ^ k end
                end
                bitpos = bitpos + size
                if code == clear then
                    size, free, prev = min + 1, clear + 2, nil
                elseif code == clear + 1 then
                    break
                else
                    local entry = code < free and dict[code] or prev .. prev:sub(1, 1)
                    out[#out + 1] = entry
                    if prev and free < 4096 then
                        dict[free] = prev .. entry:sub(1, 1)
                        free = free + 1
                        if free == 2 ^ size and size < 12 then size = size + 1 end
                    end
                    prev = entry
                end
            end
            frames[#frames + 1] = table.concat(out)
        end
    end
    return frames
end

describe("viz", function()
    local dir, threads
    -- tiny models: one thread is fastest, and immune to other processes' load
    setup(function()
        dir = tmpdir()
        threads = NVP.nvp_get_threads()
        NVP.nvp_set_threads(1)
    end)
    teardown(function()
        NVP.nvp_set_threads(threads)
        os.execute("rm -rf " .. dir)
    end)

    local function ctx_for(model, sub)
        return figures.context(model, nil, {dir = dir .. "/" .. sub, heldout = synthetic(16)})
    end

    describe("GIF encoder", function()
        it("round-trips gray frames exactly through an LZW decoder, with dictionary resets", function()
            local w, h, n = 61, 47, 5
            local px = ffi.new("uint8_t[?]", w * h * n)
            local rng = spec_rng(7)
            for i = 0, w * h * n - 1 do px[i] = (i % 7 == 0) and math.floor(rng:random() * 256) or (i * 3) % 256 end
            local path = dir .. "/g.gif"
            assert(gif.write(path, px, w, h, 1, n, {delay = 5}))
            local info = assert(gif.inspect(path))
            assert.are.same({width = w, height = h, frames = n, loops = true}, info)
            local frames = gif_frames(assert(fs.read(path)))
            assert.are.equal(n, #frames)
            for k = 1, n do
                assert.are.equal(ffi.string(px + (k - 1) * w * h, w * h), frames[k], "frame " .. k)
            end
        end)

        it("giflib decodes it to the same pixels (gif2webp, then libwebp; gray exact, RGB the cube)", function()
            if not fs.exists("/usr/bin/gif2webp") then
                pending("gif2webp (Debian webp) not installed")
                return
            end
            for _, c in ipairs{1, 3} do
                local w, h, n = 120, 90, 3                      -- random pixels: 2-3 dictionary resets a frame
                local px = ffi.new("uint8_t[?]", w * h * c * n)
                local rng = spec_rng(11 + c)
                for i = 0, w * h * c * n - 1 do px[i] = math.floor(rng:random() * 256) end
                local path = ("%s/giflib%d.gif"):format(dir, c)
                assert(gif.write(path, px, w, h, c, n, {delay = 5}))
                assert.are.equal(0, os.execute(("/usr/bin/gif2webp -quiet %s -o %s.webp"):format(path, path)))
                local d = assert(webp.decode(path .. ".webp"))
                assert.are.same({w, h, n}, {d.width, d.height, #d.frames})
                local levels = {5, 6, 5}
                for k = 0, n - 1 do
                    local bad = 0
                    for i = 0, w * h - 1 do
                        for ch = 0, 2 do
                            local v = px[(k * w * h + i) * c + (c == 1 and 0 or ch)]
                            if c == 3 then                   -- gif.c's nearest level of the 6x7x6 cube
                                local l = levels[ch + 1]
                                v = math.floor(math.floor((v * l + 127) / 255) * 255 / l)
                            end
                            if d.frames[k + 1]:byte(4 * i + ch + 1) ~= v then bad = bad + 1 end
                        end
                    end
                    assert.are.equal(0, bad, ("channels %d, frame %d"):format(c, k))
                end
            end
        end)

        it("maps RGB to the 6x7x6 cube and refuses bad arguments", function()
            local px = ffi.new("uint8_t[6]", {255, 0, 0, 0, 255, 255})
            local path = dir .. "/c.gif"
            assert(gif.write(path, px, 2, 1, 3, 1))
            local s = assert(fs.read(path))
            local idx = {gif_frames(s)[1]:byte(1, 2)}
            assert.are.same({5 * 42, 6 * 6 + 5}, idx)
            local function color(i) return {s:byte(14 + 3 * i, 16 + 3 * i)} end
            assert.are.same({255, 0, 0}, color(idx[1]))
            assert.are.same({0, 255, 255}, color(idx[2]))
            local ok, err = gif.write(path, px, 2, 1, 2, 1)
            assert.is_nil(ok)
            assert.matches("GIF needs 1 (gray) or 3 (RGB) channels, got 2", err, 1, true)
            ok, err = gif.write(dir .. "/no/such/x.gif", px, 2, 1, 3, 1)
            assert.is_nil(ok)
            assert.matches("x.gif: cannot write", err, 1, true)
        end)
    end)

    it("base64-encodes like RFC 4648", function()
        assert.are.same({"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "/+8A"},
            {base64.encode(""), base64.encode("f"), base64.encode("fo"), base64.encode("foo"), base64.encode("foob"),
             base64.encode("\255\239\0")})
    end)

    describe("figures", function()
        it("samples at 2x and 10x the training size are (2H, 2W) and (10H, 10W)", function()
            local model = tiny_model()
            local rng = spec_rng(1)
            for _, k in ipairs{2, 10} do
                local x = latent.decode(model, latent.prior(model, rng, 2, 1, 8 * k, 8 * k))
                assert.are.same({2, 1, 8 * k, 8 * k}, {x.count, x.channels, x.height, x.width})
            end
            local ctx = ctx_for(model, "larger")
            local paths = figures.larger(ctx)
            -- 5x5 grid of 16x16 and one 80x80, padding 2
            assert.are.same({5 * 16 + 6 * 2, 5 * 16 + 6 * 2}, {page.image_size(paths[1])})
            assert.are.same({80 + 4, 80 + 4}, {page.image_size(paths[2])})
        end)

        it("refuses sizes the scales do not allow, naming the valid multiples", function()
            local ctx = ctx_for(tiny_model(3), "bad")
            local err = error_of(figures.larger, ctx, {height = 10, width = 12})
            assert.matches("larger samples: 10x12 is not a valid size for a model with 3 scales: the sides must be "
                .. "positive multiples of 4 (height 10: try 8 or 12)", err, 1, true)
            local paths = figures.larger(ctx, {height = 12, width = 4})
            assert.are.same({3 * 4 + 4 * 2, 3 * 12 + 4 * 2}, {page.image_size(paths[1])})
        end)

        it("information loss: column 0 reproduces the inputs, later columns change them", function()
            local model = tiny_model()
            local ctx = ctx_for(model, "infoloss")
            local x = synthetic(2)
            for _, eps in ipairs{"noise", "zero"} do
                local cells, L = figures.infoloss_grid(ctx, eps, 5)
                assert.are.equal(2, L)
                assert.are.equal(L * L, cells.count)
                for r = 1, L do
                    local col0 = cells:narrow((r - 1) * L + 1, 1)
                    local col1 = cells:narrow((r - 1) * L + 2, 1)
                    assert.is_true(max_diff(col0.data, x:narrow(r, 1).data, 64) <= 1, eps .. " row " .. r)
                    assert.is_true(max_diff(col1.data, x:narrow(r, 1).data, 64) > 1, eps .. " row " .. r)
                end
            end
            local paths = figures.infoloss(ctx)
            assert.are.same({2 * 8 + 3 * 2, 2 * 8 + 3 * 2}, {page.image_size(paths[1])})
        end)

        it("manifold: the angles pick z1, z2, z3, z5; 8x8 still grid and a 40-frame GIF", function()
            local model = tiny_model()
            local ctx = ctx_for(model, "manifold")
            local x = synthetic(8)
            local z = latent.encode(model, x)
            local zs = {}
            for i = 1, 8 do zs[i] = latent.row(z, i) end
            local function cell(frame, i, j) return frame:narrow(8 * i + j + 1, 1).data end
            local f0 = figures.manifold_frame(ctx, zs, 0)
            assert.are.equal(64, f0.count)
            assert.is_true(max_diff(cell(f0, 0, 0), x:narrow(1, 1).data, 64) <= 1)  -- phi = phi' = phi'' = 0
            assert.is_true(max_diff(cell(f0, 2, 0), x:narrow(3, 1).data, 64) <= 1)  -- phi' = pi/2
            assert.is_true(max_diff(cell(f0, 0, 2), x:narrow(5, 1).data, 64) <= 1)  -- phi = pi/2
            local f1 = figures.manifold_frame(ctx, zs, math.pi / 2)
            assert.is_true(max_diff(cell(f1, 0, 0), x:narrow(2, 1).data, 64) <= 1)  -- phi'' = pi/2
            local paths = figures.manifold(ctx)
            local side = 8 * 8 + 9 * 2
            assert.are.same({side, side}, {page.image_size(paths[1])})
            local info = assert(gif.inspect(paths[2]))
            assert.are.same({width = side, height = side, frames = 40, loops = true}, info)
            assert.is_false(fs.exists(dir .. "/manifold/viz_manifold.webp"))
        end)

        it("manifold of an RGB model: an animated WebP (lossless: frame 1 is the still grid exactly)", function()
            local model = flow.RealNVP.new{channels = 3, size = 8, scales = 2, width = 4, blocks = 1, seed = 3}
            local ctx = figures.context(model, nil, {dir = dir .. "/manifold_rgb", heldout = synthetic_rgb(16)})
            assert(fs.mkdir_p(dir .. "/manifold_rgb"))
            assert(fs.write(dir .. "/manifold_rgb/viz_manifold.gif", "stale")) -- an earlier run's GIF goes
            local paths = figures.manifold(ctx, {frames = 6, quality = -1})
            assert.are.equal(dir .. "/manifold_rgb/viz_manifold.webp", paths[2])
            assert.is_false(fs.exists(dir .. "/manifold_rgb/viz_manifold.gif"))
            local side = 8 * 8 + 9 * 2
            assert.are.same({side, side}, {page.image_size(paths[2])})
            local d = assert(webp.decode(paths[2]))
            assert.are.same({side, side, 0, 6}, {d.width, d.height, d.loop_count, #d.frames})
            local z = latent.encode(model, synthetic_rgb(8))
            local zs = {}
            for i = 1, 8 do zs[i] = latent.row(z, i) end
            for k, phi2 in pairs{[1] = 0, [4] = math.pi} do                         -- frames 1 and 4 of 6
                local px = grid.tile(figures.manifold_frame(ctx, zs, phi2), {cols = 8, pad = 2, background = 255})
                local bad = 0
                for i = 0, side * side - 1 do
                    for ch = 0, 2 do
                        if d.frames[k]:byte(4 * i + ch + 1) ~= px[3 * i + ch] then bad = bad + 1 end
                    end
                end
                assert.are.equal(0, bad, "frame " .. k)
            end
            paths = figures.manifold(ctx, {frames = 2})                           -- default: lossy, quality 90
            assert.are.equal(2, #assert(webp.decode(paths[2])).frames)
        end)

        it("runs every figure by name and reports unknown names", function()
            local ctx = ctx_for(tiny_model(), "all")
            local written, failed = figures.run(ctx, "all", {frames = 2})
            assert.are.same({}, failed)
            assert.are.equal(9, #written)
            assert.matches("unknown figure 'nope' (valid: all, examples, samples, larger, infoloss, manifold, classes)",
                error_of(figures.run, ctx, "nope"), 1, true)
            local _, refused = figures.run(ctx, "classes")
            assert.matches("the model is not class-conditional", refused.classes, 1, true)
        end)

        it("classes: a class-conditional model's grid has one row per class, drawn under that class", function()
            local nn = require "nvp.nn"
            local levels = {}
            for level = 1, 2 do
                local layers = {nn.Squeeze{order = "A"}, nn.GlowCoupling{parity = 0, net = nn.ConvNet{width = 4}},
                                nn.Squeeze{order = "A", inverse = true}}
                if level == 2 then layers[#layers + 1] = nn.ClassPrior{classes = 3} end
                levels[level] = nn.Sequence(layers)
            end
            local model = flow.new(nn.MultiScale(levels), {channels = 1, height = 8, width = 8}, {seed = 2})
            -- class k's mean: 0.8 (k - 1) on every channel, so the rows' mean brightness is ordered by class
            local bias = model.label_layers[1]._params.bias
            for k = 0, 2 do
                for j = 0, bias.shape[2] - 1 do bias.data[k * bias.shape[2] + j] = -0.8 * (k - 1) end
            end
            local ctx = ctx_for(model, "classes")
            local written, failed = figures.run(ctx, "all", {frames = 2})
            assert.are.same({}, failed)
            assert.are.equal(10, #written)
            local raw = ffi.new("nvp_images")
            assert(require("nvp.ffi").try(NVP.nvp_png_read(raw, dir .. "/classes/viz_classes.png", 1)))
            local img = images_mod.adopt(raw)
            local per_class, pad = 10, 2
            assert.are.same({3 * (8 + pad) + pad, per_class * (8 + pad) + pad}, {img.height, img.width})
            local means = {}
            for row = 0, 2 do
                local sum = 0
                for col = 0, per_class - 1 do
                    for y = 0, 7 do
                        for x = 0, 7 do
                            sum = sum + img.data[(pad + row * (8 + pad) + y) * img.width + pad + col * (8 + pad) + x]
                        end
                    end
                end
                means[row + 1] = sum / (per_class * 64)
            end
            assert.is_true(means[1] + 10 < means[2] and means[2] + 10 < means[3], table.concat(means, ", "))
        end)
    end)

    describe("page", function()
        local function make_run(name, bpd)
            local run = require "nvp.run"
            local r = require("nvp.recipe").from_text(RECIPE, "t.lua", {})
            local d = dir .. "/runs/" .. name
            assert(fs.mkdir_p(d))
            assert(run.save(d .. "/last.safetensors", tiny_model(), nil, {step = 0}, r))
            if bpd then
                assert(fs.write(d .. "/metrics.jsonl",
                    ('{"kind":"eval","step":7,"heldout_bpd":%s,"final":true}\n'):format(bpd)))
            end
            return d
        end

        it("is self-contained, has one row per run and shows gaps as text", function()
            local a, b = make_run("a", 3.5), make_run("b")
            local out = dir .. "/page.html"
            -- a: every figure made (held-out images given); b: none made, so every cell is a gap
            assert(page.write({a}, out, {heldout = synthetic(16)}))
            assert.is_true(fs.exists(a .. "/viz_manifold.gif"))
            assert.are.equal(out, page.write({a, b}, out, {generate = false}))
            local html = assert(fs.read(out))
            assert.is_nil(html:find("http:", 1, true))
            assert.is_nil(html:find("https:", 1, true))
            local imgs = 0
            for src in html:gmatch('<img[^>]-src="([^"]*)"') do
                imgs = imgs + 1
                assert.are.equal("data:", src:sub(1, 5))
            end
            assert.are.equal(9, imgs) -- a: 1 + 2 + 1 + 1 + 2 + 2 (manifold still and animation)
            local rows = {}
            for row in html:gmatch('<tr class="run".-</tr>') do rows[#rows + 1] = row end
            assert.are.equal(2, #rows)
            assert.is_nil(rows[1]:find('class="gap"', 1, true))
            local gaps = 0
            for _ in rows[2]:gmatch('class="gap"') do gaps = gaps + 1 end
            assert.are.equal(8, gaps) -- two figures in the samples and information-loss cells
            assert.matches("no figure: viz_manifold.png is missing", rows[2], 1, true)
            assert.matches("Fashion-MNIST", html, 1, true)
            assert.matches("test 3.5000 bits/dim", html, 1, true)
            assert.matches("RealNVP(1x8x8, 2 scales, width 4, 1 blocks", html, 1, true)
            assert.matches('figure class="hover"', rows[1], 1, true)
        end)

        it("shows an RGB run's manifold animation as WebP", function()
            local run = require "nvp.run"
            local r = require("nvp.recipe").from_text(RECIPE:gsub("fashion_mnist", "cifar10"), "t.lua", {})
            local d = dir .. "/runs/rgb"
            assert(fs.mkdir_p(d))
            local model = flow.RealNVP.new{channels = 3, size = 8, scales = 2, width = 4, blocks = 1, seed = 3}
            assert(run.save(d .. "/last.safetensors", model, nil, {step = 0}, r))
            local out = dir .. "/rgb.html"
            assert(page.write({d}, out, {heldout = synthetic_rgb(16)}))
            assert.is_true(fs.exists(d .. "/viz_manifold.webp"))
            assert.is_false(fs.exists(d .. "/viz_manifold.gif"))
            local html = assert(fs.read(out))
            assert.matches('<img class="anim" alt="manifold animation" width="%d+" height="%d+" src="data:image/webp;base64,',
                html)
            assert.matches('figure class="hover"', html, 1, true)
            assert.is_nil(html:find('class="gap"', 1, true))
        end)

        it("the verb needs out= for several runs", function()
            local ok, err = pcall(require("nvp.cmd.page").run, {dir .. "/runs/a", dir .. "/runs/b"})
            assert.is_false(ok)
            assert.matches("with several run directories, say where the page goes: out=FILE", err.message, 1, true)
        end)
    end)
end)
