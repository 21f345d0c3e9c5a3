-- Moving values without arithmetic: nvp_copy_channels, nvp_squeeze / nvp_unsqueeze (orders A and B,
-- docs/REFERENCE.md 2.2 and the peer's squeeze_a / squeeze_b), against index formulas written out here.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

describe("copy_channels", function()
    it("copies and accumulates a channel slice", function()
        local n, sc, dc, hw = 3, 5, 4, 7
        local src = spec_rng(1):normal(T.empty{n, sc, hw})
        local dst = spec_rng(2):normal(T.empty{n, dc, hw})
        local before = dst:clone()
        assert.are.equal(0, NVP.nvp_copy_channels(dst.data, dc, 1, src.data, sc, 2, 3, n, hw, 0))
        local acc = before:clone()
        assert.are.equal(0, NVP.nvp_copy_channels(acc.data, dc, 1, src.data, sc, 2, 3, n, hw, 1))
        for b = 0, n - 1 do
            for ch = 0, dc - 1 do
                for p = 0, hw - 1 do
                    local i = (b * dc + ch) * hw + p
                    local old = before.data[i]
                    local new = old
                    if ch >= 1 and ch < 4 then new = src.data[(b * sc + ch - 1 + 2) * hw + p] end
                    assert.are.equal(new, dst.data[i])
                    local want = (ch >= 1 and ch < 4) and old + new or old
                    assert_close(acc.data[i], want, 1e-6, 1e-6, "accumulate")
                end
            end
        end
    end)

    it("refuses a slice outside either tensor, naming it", function()
        local t = T.zeros{2, 3, 4}
        assert.are.equal(2, NVP.nvp_copy_channels(t.data, 3, 0, t.data, 3, 2, 2, 2, 4, 0))
        assert.are.equal("nvp_copy_channels: channels [2, 4) are outside src (2,3,4)", nffi.last_error())
        assert.are.equal(2, NVP.nvp_copy_channels(t.data, 3, 2, t.data, 3, 0, 2, 2, 4, 0))
        assert.are.equal("nvp_copy_channels: channels [2, 4) are outside dst (2,3,4)", nffi.last_error())
        assert.are.equal(1, NVP.nvp_copy_channels(t.data, 3, 0, t.data, 3, 0, -1, 2, 4, 0))
    end)
end)

-- The squeezes written out: the channel and pixel offset of y channel yc.
local order_b = {{0, 0}, {1, 1}, {0, 1}, {1, 0}} -- (dy, dx) of channel block q = 0..3
local function source(yc, c, order)
    if order == 0 then
        local ch, q = math.floor(yc / 4), yc % 4
        return ch, math.floor(q / 2), q % 2 -- y[4ch + 2dy + dx] = x[ch, 2Y+dy, 2X+dx]
    end
    local q, ch = math.floor(yc / c), yc % c
    return ch, order_b[q + 1][1], order_b[q + 1][2]
end

describe("squeeze", function()
    for order = 0, 1 do
        for _, sh in ipairs{{2, 3, 6, 4}, {1, 1, 2, 2}, {3, 2, 10, 14}} do
            local n, c, h, w = sh[1], sh[2], sh[3], sh[4]
            it(("order %s on (%d,%d,%d,%d) matches the index formula and inverts exactly"):format(
                order == 0 and "A" or "B", n, c, h, w), function()
                local x = spec_rng(3):normal(T.empty{n, c, h, w})
                local y = T.empty{n, 4 * c, h / 2, w / 2}
                assert.are.equal(0, NVP.nvp_squeeze(y.data, x.data, n, c, h, w, order))
                local h2, w2 = h / 2, w / 2
                for b = 0, n - 1 do
                    for yc = 0, 4 * c - 1 do
                        local ch, dy, dx = source(yc, c, order)
                        for Y = 0, h2 - 1 do
                            for X = 0, w2 - 1 do
                                local got = y.data[((b * 4 * c + yc) * h2 + Y) * w2 + X]
                                local want = x.data[((b * c + ch) * h + 2 * Y + dy) * w + 2 * X + dx]
                                assert.are.equal(want, got)
                            end
                        end
                    end
                end
                local back = T.full({n, c, h, w}, 99)
                assert.are.equal(0, NVP.nvp_unsqueeze(back.data, y.data, n, c, h, w, order))
                assert.are.equal(0, back:max_abs_diff(x))
            end)
        end
    end

    it("order B keeps offsets (0,0) and (1,1) in the first 2C channels (the part kept by scale k+1)", function()
        local n, c, h, w = 1, 2, 4, 4
        local x = T.empty{n, c, h, w}
        for ch = 0, c - 1 do
            for i = 0, h - 1 do
                for j = 0, w - 1 do x.data[(ch * h + i) * w + j] = (i + j) % 2 end -- 0 on (0,0),(1,1)
            end
        end
        local y = T.empty{n, 4 * c, h / 2, w / 2}
        assert.are.equal(0, NVP.nvp_squeeze(y.data, x.data, n, c, h, w, 1))
        local per = (h / 2) * (w / 2)
        for i = 0, 2 * c * per - 1 do assert.are.equal(0, y.data[i]) end
        for i = 2 * c * per, 4 * c * per - 1 do assert.are.equal(1, y.data[i]) end
    end)

    it("refuses an odd height or width, naming the shape", function()
        local t = T.zeros{2, 3, 5, 4}
        assert.are.equal(2, NVP.nvp_squeeze(t.data, t.data, 2, 3, 5, 4, 0))
        assert.are.equal("nvp_squeeze: x (2,3,5,4) needs an even height and width", nffi.last_error())
        assert.are.equal(2, NVP.nvp_unsqueeze(t.data, t.data, 2, 3, 4, 5, 1))
        assert.are.equal("nvp_unsqueeze: x (2,3,4,5) needs an even height and width", nffi.last_error())
        assert.are.equal(1, NVP.nvp_squeeze(t.data, t.data, 2, 3, 4, 4, 2))
        assert.are.equal("nvp_squeeze: order = 2 (expected 0 for A or 1 for B)", nffi.last_error())
    end)
end)

describe("squeeze and unsqueeze: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    -- widths whose half is below, at, and ragged above the 8-float vector (w/2 = 1, 8, 11, 17)
    for _, shape in ipairs{{2, 3, 2, 2}, {1, 2, 4, 16}, {2, 3, 6, 22}, {3, 1, 2, 34}} do
        for order = 0, 1 do
            it(("order %d at (%s)"):format(order, table.concat(shape, ",")), function()
                local n, c, h, w = shape[1], shape[2], shape[3], shape[4]
                local x = spec_rng(order + w):normal(T.empty{n, c, h, w})
                local r, v = T.empty{n, 4 * c, h / 2, w / 2}, T.empty{n, 4 * c, h / 2, w / 2}
                assert.are.equal(0, ON.scalar.nvp_squeeze(r.data, x.data, n, c, h, w, order))
                assert.are.equal(0, ON.avx2.nvp_squeeze(v.data, x.data, n, c, h, w, order))
                assert.are.equal(0, r:max_abs_diff(v))
                local xr, xv = T.empty{n, c, h, w}, T.empty{n, c, h, w}
                assert.are.equal(0, ON.scalar.nvp_unsqueeze(xr.data, r.data, n, c, h, w, order))
                assert.are.equal(0, ON.avx2.nvp_unsqueeze(xv.data, r.data, n, c, h, w, order))
                assert.are.equal(0, xr:max_abs_diff(xv))
                assert.are.equal(0, xv:max_abs_diff(x))
            end)
        end
    end

    it("give the same message for bad shapes on both paths", function()
        local t = T.zeros{2, 3, 5, 4}
        assert.are.equal(2, ON.avx2.nvp_squeeze(t.data, t.data, 2, 3, 5, 4, 0))
        assert.are.equal("nvp_squeeze: x (2,3,5,4) needs an even height and width", nffi.last_error())
    end)
end)
