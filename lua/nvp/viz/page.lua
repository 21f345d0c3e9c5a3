-- nvp.viz.page: the results page, one self-contained HTML file (every image a base64 data: URI, no
-- external resource) with one row per run directory, laid out as the Real NVP author's page:
--   Examples | Samples | Samples (twice as large) | Samples (ten times as large) | Information loss |
--   Manifold (hover for the animation)
-- Each row is headed by the dataset, the test (or held-out) bits/dim and a one-line model summary.
-- A figure that is missing and cannot be made shows as a gap with the reason, never a broken image.
--
--   local page = require "nvp.viz.page"
--   local path = assert(page.write({"runs/demo"}, "runs/demo/index.html"))   -- makes missing figures
local json = require "nvp.json"
local fs = require "nvp.fs"
local base64 = require "nvp.viz.base64"
local figures = require "nvp.viz.figures"

local M = {}

M.COLUMNS = {
    {"examples", "Examples"},
    {"samples", "Samples"},
    {"larger2x", "Samples (twice as large)"},
    {"larger10x", "Samples (ten times as large)"},
    {"infoloss", "Information loss"},
    {"manifold", "Manifold (hover over for animation)"},
}

local DATASET_NAMES = {fashion_mnist = "Fashion-MNIST", cifar10 = "CIFAR-10"}
local DISPLAY_WIDTH = 280 -- small figures are scaled up by whole factors to about this width

local function escape(s)
    return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                                          ["'"] = "&#39;"}))
end

--- Width and height of a PNG or GIF file from its header, or nil.
function M.image_size(path)
    local f = io.open(path, "rb")
    if f == nil then return nil end
    local head = f:read(32) or ""
    f:close()
    local b = function(i) return head:byte(i) or 0 end
    if head:sub(1, 8) == "\137PNG\r\n\026\n" then
        return b(17) * 16777216 + b(18) * 65536 + b(19) * 256 + b(20), b(21) * 16777216 + b(22) * 65536 + b(23) * 256 + b(24)
    elseif head:sub(1, 3) == "GIF" then
        return b(7) + 256 * b(8), b(9) + 256 * b(10)
    elseif head:sub(1, 4) == "RIFF" and head:sub(9, 16) == "WEBPVP8X" then -- extended (animated) WebP
        return 1 + b(25) + 256 * b(26) + 65536 * b(27), 1 + b(28) + 256 * b(29) + 65536 * b(30)
    end
end

-- The last held-out evaluation in metrics.jsonl (the final one if any): bits/dim, step.
local function last_eval(dir)
    local text = fs.read(dir .. "/metrics.jsonl")
    if text == nil then return nil end
    local best
    for line in text:gmatch("[^\n]+") do
        local ok, rec = pcall(json.decode, line)
        if ok and type(rec) == "table" and rec.kind == "eval" and type(rec.heldout_bpd) == "number" then
            if best == nil or rec.final or not best.final then best = rec end
        end
    end
    return best
end

--- What the page shows about a run directory: {dir, name, ckpt, recipe, dataset, bpd, bpd_label, step,
-- summary, description, problem}.
function M.run_info(dir)
    dir = dir:gsub("/+$", "")
    local info = {dir = dir, name = dir:match("([^/]+)$") or dir}
    for _, file in ipairs{"last.safetensors", "best.safetensors"} do
        if fs.exists(dir .. "/" .. file) then info.ckpt = dir .. "/" .. file break end
    end
    local model
    if info.ckpt then
        local ck, err = require("nvp.run").open(info.ckpt)
        if ck then
            info.recipe, model, info.step = ck.recipe, ck.model, tonumber(ck.meta["nvp.step"])
            info.bpd = tonumber(ck.meta["nvp.heldout_bpd"])
        else
            info.problem = err
        end
    else
        info.problem = "no checkpoint (last.safetensors or best.safetensors)"
    end
    if info.recipe == nil and fs.exists(dir .. "/recipe.lua") then
        local overrides = {}
        local otext = fs.read(dir .. "/overrides.json")
        if otext then
            local ok, o = pcall(json.decode, otext)
            if ok and type(o) == "table" then overrides = o end
        end
        local ok, r = pcall(require("nvp.recipe").load, dir .. "/recipe.lua", overrides)
        if ok then info.recipe = r end
    end
    local r = info.recipe
    if r then
        if r.name ~= "run" and r.name ~= info.name then info.name = ("%s (recipe %s)"):format(info.name, r.name) end
        info.dataset = DATASET_NAMES[r.data.dataset] or r.data.dataset
        info.class_names = require("nvp.data.dataset").CLASS_NAMES[r.data.dataset]
        info.bpd_label = r.data.heldout == "test" and "test" or "held-out"
        info.description = r.description ~= "" and r.description or nil
        info.summary = model and model:summary() or (r.model.arch and ("%s (%s)"):format(r.model.arch,
            require("nvp.recipe").architecture(r.model.arch).summary(r.model)) or "a flow built by the recipe")
    end
    local ev = last_eval(dir)
    if ev then info.bpd, info.step = ev.heldout_bpd, ev.step end
    info.model = model
    return info
end

--- Make the figures of a run that are missing (all of them with opts.force). Returns {name -> why}
-- for the figures that could not be made.
function M.ensure_figures(info, opts)
    opts = opts or {}
    local failed = {}
    local todo = {}
    for _, name in ipairs(figures.NAMES) do
        local missing = opts.force
        for _, file in ipairs(figures.FILES[name]) do
            local found = false
            for _, alt in ipairs(type(file) == "table" and file or {file}) do
                if fs.exists(info.dir .. "/" .. alt) then found = true end
            end
            if not found then missing = true end
        end
        if info.model and not figures.applies(info.model, name) then missing = false end -- "classes"
        if missing then todo[#todo + 1] = name end
    end
    if #todo == 0 then return failed end
    if info.model == nil then
        for _, name in ipairs(todo) do failed[name] = info.problem or "no model" end
        return failed
    end
    local ctx = figures.context(info.model, info.recipe, {dir = info.dir, ckpt = info.ckpt, heldout = opts.heldout})
    for _, name in ipairs(todo) do
        if opts.log then opts.log(("%s: making the %s figure"):format(info.dir, name)) end
        local _, f = figures.run(ctx, name, {seed = opts.seed})
        failed[name] = f[name]
    end
    return failed
end

-- <img> of a figure file, inlined; or nil, why.
local function img(path, alt, class)
    local uri, err = base64.data_uri(path)
    if uri == nil then return nil, err end
    local w, h = M.image_size(path)
    local attrs = ""
    if w and h then
        local k = math.max(1, math.floor(DISPLAY_WIDTH / w))
        attrs = (' width="%d" height="%d"'):format(w * k, h * k)
    end
    return ('<img%s alt="%s"%s src="%s">'):format(class and (' class="%s"'):format(class) or "", escape(alt), attrs, uri)
end

local function gap(why)
    return ('<div class="gap">no figure: %s</div>'):format(escape(why))
end

-- One figure (or a gap) with a caption.
local function figure(dir, file, caption, why)
    local path = dir .. "/" .. file
    if not fs.exists(path) then return gap(why or (file .. " is missing")) end
    local tag, err = img(path, caption)
    if tag == nil then return gap(err) end
    return ("<figure>%s<figcaption>%s</figcaption></figure>"):format(tag, escape(caption))
end

local function cell(info, column, failed)
    local d = info.dir
    local why = function(name) return failed[name] end
    if column == "examples" then
        return figure(d, "viz_examples.png", "held-out images", why("examples"))
    elseif column == "samples" then
        return figure(d, "viz_samples.png", "T = 1", why("samples"))
            .. figure(d, "viz_temperatures.png", "T = 0, 0.25, 0.5, 0.7, 0.85, 1 (columns)", why("samples"))
    elseif column == "larger2x" then
        return figure(d, "viz_larger2x.png", "25 samples, 2x the training size", why("larger"))
    elseif column == "larger10x" then
        return figure(d, "viz_larger10x.png", "1 sample, 10x the training size", why("larger"))
    elseif column == "infoloss" then
        return figure(d, "viz_infoloss_noise.png", "finest k scales resampled, eps ~ N(0, I); k = 0, 1, ... (columns)",
                   why("infoloss"))
            .. figure(d, "viz_infoloss_zero.png", "same with eps = 0", why("infoloss"))
    elseif column == "manifold" then
        local still, anim = d .. "/viz_manifold.png", nil
        for _, file in ipairs(figures.MANIFOLD_ANIMATIONS) do     -- WebP (colour) or GIF (gray)
            if anim == nil and fs.exists(d .. "/" .. file) then anim = d .. "/" .. file end
        end
        if not fs.exists(still) then return gap(why("manifold") or "viz_manifold.png is missing") end
        local still_tag, err = img(still, "manifold of 8 held-out images", "still")
        if still_tag == nil then return gap(err) end
        local anim_tag = anim and img(anim, "manifold animation", "anim") or nil
        return ('<figure class="%s">%s%s<figcaption>%s</figcaption></figure>'):format(anim_tag and "hover" or "",
            still_tag, anim_tag or "", anim_tag and "hover for the animation over phi''" or "animation missing")
    end
end

local CSS = [[
body { font-family: sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 0.2em; }
p.note { color: #666; margin: 0 0 1em; font-size: 0.9em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 6px; vertical-align: top; text-align: center; }
thead th { background: #f2f2f2; font-size: 0.9em; }
tr.head th { text-align: left; background: #fafafa; font-weight: normal; }
tr.head .dataset { font-weight: bold; }
tr.head .bpd { font-weight: bold; color: #036; }
figure { margin: 0 0 6px; }
figcaption { font-size: 0.75em; color: #666; max-width: 300px; margin: 2px auto 0; }
img { image-rendering: pixelated; display: block; margin: 0 auto; }
.gap { width: 200px; min-height: 80px; margin: 0 auto; padding: 8px; border: 1px dashed #bbb; color: #888;
       font-size: 0.8em; display: flex; align-items: center; justify-content: center; }
figure.hover .anim { display: none; }
figure.hover:hover .anim { display: block; }
figure.hover:hover .still { display: none; }
]]

--- The page's HTML for a list of run infos and {dir -> failures} (see ensure_figures).
function M.html(infos, failures, title)
    local out = {}
    local function add(s) out[#out + 1] = s end
    title = title or "Real NVP: samples, larger samples, information loss and the manifold"
    add('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    add(("<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n"):format(escape(title), CSS))
    add(("<h1>%s</h1>\n"):format(escape(title)))
    add('<p class="note">Made by nvp (viz/page). Samples draw z ~ N(0, T&sup2; I); information loss decodes g(&epsilon;<sub>1</sub>'
        .. ' &hellip; &epsilon;<sub>k</sub>, z<sub>k+1</sub> &hellip; z<sub>L</sub>); the manifold shows z(&phi;, &phi;&prime;,'
        .. ' &phi;&Prime;) over the latents of 8 held-out images (columns &phi;, rows &phi;&prime; in steps of 2&pi;/8,'
        .. ' 40 frames over &phi;&Prime;).</p>\n')
    add("<table>\n<thead><tr>")
    for _, col in ipairs(M.COLUMNS) do add(("<th>%s</th>"):format(escape(col[2]))) end
    add("</tr></thead>\n<tbody>\n")
    for _, info in ipairs(infos) do
        local bits = {('<span class="dataset">%s</span>'):format(escape(info.dataset or "unknown dataset")),
                      escape(info.name)}
        if info.bpd then
            bits[#bits + 1] = ('<span class="bpd">%s %.4f bits/dim</span>'):format(escape(info.bpd_label or "held-out"), info.bpd)
        else
            bits[#bits + 1] = "no evaluation yet"
        end
        if info.step then bits[#bits + 1] = ("step %d"):format(info.step) end
        bits[#bits + 1] = escape(info.summary or info.problem or "no recipe")
        if info.description then bits[#bits + 1] = escape(info.description) end
        add(('<tr class="head"><th colspan="%d">%s</th></tr>\n'):format(#M.COLUMNS, table.concat(bits, " &middot; ")))
        add(('<tr class="run" data-run="%s">'):format(escape(info.dir)))
        local failed = failures[info.dir] or {}
        for _, col in ipairs(M.COLUMNS) do
            add(('<td class="%s">%s</td>'):format(col[1], cell(info, col[1], failed)))
        end
        add("</tr>\n")
        -- a class-conditional model's samples, one row per class
        if fs.exists(info.dir .. "/viz_classes.png") then
            add(('<tr class="classes"><td colspan="%d">%s</td></tr>\n'):format(#M.COLUMNS, figure(info.dir,
                "viz_classes.png", ("one row per class (0, 1, ... from the top), T = 0.7%s"):format(
                    info.class_names and (": " .. table.concat(info.class_names, ", ")) or ""))))
        end
        -- the run's out-of-distribution results (nvp ood ... json=RUN/ood.json), when it has them
        local panel, perr = require("nvp.likelihood.ood").panel_for_run(info.dir)
        if panel or perr then
            add(('<tr class="ood"><td colspan="%d">%s</td></tr>\n'):format(#M.COLUMNS, panel or gap(perr)))
        end
    end
    add("</tbody>\n</table>\n</body>\n</html>\n")
    return table.concat(out)
end

--- Write the page for run directories to `out`, making missing figures first unless opts.generate ==
-- false. opts: force (remake every figure), log (function(line)), heldout (Images, for specs).
-- Returns the path, or nil, message.
function M.write(dirs, out, opts)
    opts = opts or {}
    local infos, failures = {}, {}
    for _, dir in ipairs(dirs) do
        if not fs.is_dir(dir) then return nil, ("%s: not a run directory"):format(dir) end
        local info = M.run_info(dir)
        infos[#infos + 1] = info
        failures[info.dir] = opts.generate == false and {} or M.ensure_figures(info, opts)
    end
    local ok, err = fs.write(out, M.html(infos, failures, opts.title))
    if not ok then return nil, ("%s: cannot write the page: %s"):format(out, tostring(err)) end
    return out
end

return M
