-- The results page in a real browser: Debian's chromium, headless, loads a page built from two tiny
-- models (gray: GIF animation; RGB: animated WebP), and every <img> must have loaded (naturalWidth >
-- 0); a screenshot is saved. Skipped where
-- /usr/bin/chromium is absent (.ci/packages.txt installs it for CI).
local flow = require "nvp.flow"
local images_mod = require "nvp.data.images"
local page = require "nvp.viz.page"
local fs = require "nvp.fs"

local CHROMIUM = "/usr/bin/chromium"

local RECIPE = [[return {name = "tiny", data = {dataset = "fashion_mnist", heldout = "test"},
    model = {scales = 2, width = 4, blocks = 1}}]]

-- Appended to a copy of the page: on load, write what every image did into the DOM for --dump-dom.
-- A deliberately broken (hidden) image shows the probe does see failures.
local PROBE = [[
<img alt="probe-broken" style="display: none" src="data:image/png;base64,AAAA">
<script>
window.addEventListener("load", function () {
  var imgs = document.images, bad = [];
  for (var i = 0; i < imgs.length; i++) {
    if (!(imgs[i].complete && imgs[i].naturalWidth > 0)) bad.push(imgs[i].alt);
  }
  var p = document.createElement("pre");
  p.id = "nvp-probe";
  p.textContent = "NVP-PROBE images=" + imgs.length + " broken=" + bad.length + " [" + bad.join("|") + "]";
  document.body.appendChild(p);
});
</script>
]]

local function chromium(dir, extra, url)
    local flags = table.concat({"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" .. dir .. "/profile", "--virtual-time-budget=10000"}, " ")
    local p = io.popen(("timeout 120 %s %s %s '%s' 2>/dev/null"):format(CHROMIUM, flags, extra, url))
    local out = p:read("*a")
    p:close()
    return out
end

describe("results page in headless chromium", function()
    local dir, threads
    setup(function()
        dir = tmpdir()
        threads = NVP.nvp_get_threads()
        NVP.nvp_set_threads(1)
    end)
    teardown(function()
        NVP.nvp_set_threads(threads)
        os.execute("rm -rf " .. dir)
    end)

    it("loads every image of the page and takes a screenshot", function()
        if not fs.exists(CHROMIUM) then
            pending("chromium not installed")
            return
        end
        -- a run directory with a tiny untrained model and synthetic 8x8 held-out images
        local r = require("nvp.recipe").from_text(RECIPE, "t.lua", {})
        local run_dir = dir .. "/runs/tiny"
        assert(fs.mkdir_p(run_dir))
        local model = flow.RealNVP.new{channels = 1, size = 8, scales = 2, width = 4, blocks = 1}
        assert(require("nvp.run").save(run_dir .. "/last.safetensors", model, nil, {step = 0}, r))
        local x = images_mod.new(16, 1, 8, 8)
        for i = 0, 16 * 64 - 1 do x.data[i] = (i * 29) % 256 end
        assert(page.write({run_dir}, run_dir .. "/index.html", {heldout = x}))
        -- and an RGB one, whose manifold animation is an animated WebP
        local rgb_dir = dir .. "/runs/rgb"
        assert(fs.mkdir_p(rgb_dir))
        local rgb = flow.RealNVP.new{channels = 3, size = 8, scales = 2, width = 4, blocks = 1}
        local r3 = require("nvp.recipe").from_text(RECIPE:gsub("fashion_mnist", "cifar10"), "t.lua", {})
        assert(require("nvp.run").save(rgb_dir .. "/last.safetensors", rgb, nil, {step = 0}, r3))
        local x3 = images_mod.new(16, 3, 8, 8)
        for i = 0, 16 * 192 - 1 do x3.data[i] = (i * 31) % 256 end
        assert(page.write({rgb_dir}, rgb_dir .. "/index.html", {heldout = x3}))
        -- the tiny run has OOD results (nvp ood ... json=RUN/ood.json figure=RUN/ood.png): its panel
        assert(fs.write(run_dir .. "/ood.json", require("nvp.json").encode{inliers = "a", outliers = "b",
            figure = "ood.png", bpd = {auroc = 0.9, fpr95 = 0.3, mean_in = 3, mean_out = 4},
            corrected = {auroc = 0.8, fpr95 = 0.5, mean_in = 1, mean_out = 2}}))
        os.execute(("cp %s/viz_samples.png %s/ood.png"):format(run_dir, run_dir))
        local out = assert(page.write({run_dir, rgb_dir}, dir .. "/index.html", {generate = false}))
        local html = assert(fs.read(out))
        local expected = select(2, html:gsub("<img ", "<img "))
        assert.are.equal(19, expected)
        assert.matches('<tr class="ood">', html, 1, true)
        assert.matches('src="data:image/webp;base64,', html, 1, true)
        assert.matches('src="data:image/gif;base64,', html, 1, true)

        local probe_path = dir .. "/probe.html"
        assert(fs.write(probe_path, (html:gsub("</body>", function() return PROBE .. "</body>" end))))
        local shot = os.getenv("NVP_PAGE_SCREENSHOT") or dir .. "/page.png" -- keep it: NVP_PAGE_SCREENSHOT=PATH
        local dom = chromium(dir, "--window-size=1600,900 --screenshot=" .. shot .. " --dump-dom", "file://" .. probe_path)
        local result = dom:match('<pre id="nvp%-probe">(NVP%-PROBE [^<]*)</pre>')
        assert(result, "chromium printed no probe result; its output began: " .. dom:sub(1, 300))
        assert.are.equal(("NVP-PROBE images=%d broken=1 [probe-broken]"):format(expected + 1), result)
        local png = assert(fs.read(shot), "no screenshot written")
        assert.are.equal("\137PNG", png:sub(1, 4))
        assert.are.equal(1600, select(1, page.image_size(shot)))
    end)
end)
