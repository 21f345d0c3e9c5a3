-- nvp.likelihood.histogram: two score distributions (in- and out-of-distribution) drawn over each
-- other as one RGB picture, a panel per score, for `nvp ood`. No text library: the axis carries its
-- end values and round ticks in a 3x5 pixel digit font.
--
--   local px, w, h = histogram.render({{inliers = a, outliers = b}, {inliers = c, outliers = d}})
--   output.png("ood.png", px, w, h, 3)
--
-- Each set's histogram is normalised by its own count (densities: sets of different sizes compare);
-- inliers blue, outliers orange, their overlap the mix of both.
local ffi = require "ffi"

local M = {}

M.IN_COLOUR = {31, 119, 180}
M.OUT_COLOUR = {255, 127, 14}
M.BOTH_COLOUR = {143, 123, 97}

local PW, PH, MARGIN, BINS, SCALE = 360, 160, 16, 48, 2

local FONT = { -- 3x5, rows top to bottom, bit 4 = left column
    ["0"] = {7, 5, 5, 5, 7}, ["1"] = {2, 6, 2, 2, 7}, ["2"] = {7, 1, 7, 4, 7}, ["3"] = {7, 1, 7, 1, 7},
    ["4"] = {5, 5, 7, 1, 1}, ["5"] = {7, 4, 7, 1, 7}, ["6"] = {7, 4, 7, 5, 7}, ["7"] = {7, 1, 1, 1, 1},
    ["8"] = {7, 5, 7, 5, 7}, ["9"] = {7, 5, 7, 1, 7}, ["."] = {0, 0, 0, 0, 2}, ["-"] = {0, 0, 7, 0, 0},
}

local function canvas(w, h)
    local px = ffi.new("uint8_t[?]", w * h * 3)
    ffi.fill(px, w * h * 3, 255)
    local c = {px = px, w = w, h = h}
    function c.set(x, y, rgb)
        if x < 0 or y < 0 or x >= w or y >= h then return end
        local i = (y * w + x) * 3
        px[i], px[i + 1], px[i + 2] = rgb[1], rgb[2], rgb[3]
    end
    function c.text(x, y, s, rgb)
        for k = 1, #s do
            local glyph = FONT[s:sub(k, k)]
            if glyph then
                for r = 1, 5 do
                    for col = 0, 2 do
                        if math.floor(glyph[r] / 2 ^ (2 - col)) % 2 == 1 then
                            for dy = 0, SCALE - 1 do
                                for dx = 0, SCALE - 1 do
                                    c.set(x + (k - 1) * 4 * SCALE + col * SCALE + dx, y + (r - 1) * SCALE + dy, rgb)
                                end
                            end
                        end
                    end
                end
            end
        end
    end
    return c
end

local function label(v)
    local s = ("%.2f"):format(v)
    return s
end

-- The histogram of a list over [lo, hi) in `bins` bins, as shares of the list's count.
function M.shares(values, lo, hi, bins)
    local h = {}
    for b = 1, bins do h[b] = 0 end
    local width = (hi - lo) / bins
    for _, v in ipairs(values) do
        local b = width > 0 and math.floor((v - lo) / width) + 1 or 1
        b = math.max(1, math.min(bins, b))
        h[b] = h[b] + 1 / #values
    end
    return h
end

-- A range covering both sets between their 0.5 % and 99.5 % quantiles (outliers far out of range
-- would squash the rest into one bin; the values outside land in the end bins).
local function range(a, b)
    local all = {}
    for _, v in ipairs(a) do all[#all + 1] = v end
    for _, v in ipairs(b) do all[#all + 1] = v end
    table.sort(all)
    local lo = all[math.max(1, math.floor(0.005 * #all) + 1)]
    local hi = all[math.min(#all, math.ceil(0.995 * #all))]
    if hi <= lo then hi = lo + 1 end
    return lo, hi
end

--- panels: list of {inliers = {...}, outliers = {...}}. Returns pixels (RGB interleaved), width, height.
function M.render(panels)
    local ph = PH + 2 * MARGIN + 8 * SCALE
    local w, h = #panels * (PW + 2 * MARGIN), ph
    local c = canvas(w, h)
    for p, panel in ipairs(panels) do
        local x0, y0 = (p - 1) * (PW + 2 * MARGIN) + MARGIN, MARGIN
        local lo, hi = range(panel.inliers, panel.outliers)
        local a = M.shares(panel.inliers, lo, hi, BINS)
        local b = M.shares(panel.outliers, lo, hi, BINS)
        local top = 0
        for k = 1, BINS do top = math.max(top, a[k], b[k]) end
        local bw = PW / BINS
        for k = 1, BINS do
            local ha, hb = math.floor(a[k] / top * PH + 0.5), math.floor(b[k] / top * PH + 0.5)
            for x = math.floor((k - 1) * bw), math.floor(k * bw) - 1 do
                for y = 0, math.max(ha, hb) - 1 do
                    local rgb = (y < ha and y < hb) and M.BOTH_COLOUR or (y < ha and M.IN_COLOUR or M.OUT_COLOUR)
                    c.set(x0 + x, y0 + PH - 1 - y, rgb)
                end
            end
        end
        local axis = {0, 0, 0}
        for x = 0, PW - 1 do c.set(x0 + x, y0 + PH, axis) end
        -- ticks at round values, the end values written under the axis
        local step = 10 ^ math.floor(math.log10((hi - lo) / 2))
        local t = math.ceil(lo / step) * step
        while t <= hi do
            local x = math.floor((t - lo) / (hi - lo) * (PW - 1) + 0.5)
            for y = 1, 4 do c.set(x0 + x, y0 + PH + y, axis) end
            t = t + step
        end
        c.text(x0, y0 + PH + 6, label(lo), axis)
        local right = label(hi)
        c.text(x0 + PW - #right * 4 * SCALE, y0 + PH + 6, right, axis)
    end
    return c.px, w, h
end

return M
