-- Data preprocessing (docs/REFERENCE.md 2.1, 2.5; lua/nvp/layers/preprocess.md): dequantisation, the
-- logit transform and its log-det, its inverse, quantisation and horizontal flips.
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local ALPHA = 0.05

local function u8(values)
    local n = #values
    local p = ffi.new("uint8_t[?]", math.max(n, 1))
    for i = 1, n do p[i - 1] = values[i] end
    return p
end

describe("logit", function()
    it("forward matches the formula and adds the log-det to what is there", function()
        local n, d = 3, 11
        local v = spec_rng(1):uniform(T.empty{n, d}, 0, 256)
        v.data[0], v.data[1] = 0, 255.99998
        local y, logdet = T.empty{n, d}, T.from_table{1, 2, 3}
        assert.are.equal(0, NVP.nvp_logit_forward(y.data, logdet.data, v.data, n, d, ALPHA))
        local ey, eld = {}, {}
        for b = 0, n - 1 do
            local s = 0
            for i = b * d, (b + 1) * d - 1 do
                local p = ALPHA + (1 - 2 * ALPHA) * v.data[i] / 256
                ey[i + 1] = math.log(p) - math.log(1 - p)
                s = s + math.log(1 - 2 * ALPHA) - math.log(p) - math.log(1 - p)
            end
            eld[b + 1] = b + 1 + s
        end
        assert_close(y, ey, 1e-6, 1e-6, "y")
        assert_close(logdet, eld, 1e-6, 1e-5, "logdet")
    end)

    it("log-det equals log|det dy/du| (u = v/256) by finite differences: diagonal Jacobian", function()
        local n, d = 2, 6
        local v = spec_rng(2):uniform(T.empty{n, d}, 2, 254)
        local y, yp, ym, logdet, scratch = T.empty{n, d}, T.empty{n, d}, T.empty{n, d}, T.zeros{n}, T.zeros{n}
        assert.are.equal(0, NVP.nvp_logit_forward(y.data, logdet.data, v.data, n, d, ALPHA))
        local h = 1e-3 -- step in u
        local brute = {0, 0}
        for col = 0, n * d - 1 do
            local saved = v.data[col]
            v.data[col] = saved + 256 * h
            NVP.nvp_logit_forward(yp.data, scratch.data, v.data, n, d, ALPHA)
            v.data[col] = saved - 256 * h
            NVP.nvp_logit_forward(ym.data, scratch.data, v.data, n, d, ALPHA)
            v.data[col] = saved
            for r = 0, n * d - 1 do
                local dydu = (yp.data[r] - ym.data[r]) / (2 * h)
                if r ~= col then
                    assert.are.equal(0, dydu) -- element-wise: J is diagonal
                else
                    local b = math.floor(col / d)
                    brute[b + 1] = brute[b + 1] + math.log(math.abs(dydu))
                end
            end
        end
        assert_close(logdet, brute, 1e-4, 1e-3, "logdet vs sum log|dy/du|")
    end)

    it("inverse(forward(v)) == v to 1e-4 relative", function()
        local n = 4097
        local v = T.empty{n}
        for i = 0, n - 1 do v.data[i] = 255.999 * i / (n - 1) end
        local y, back, logdet = T.empty{n}, T.empty{n}, T.zeros{1}
        assert.are.equal(0, NVP.nvp_logit_forward(y.data, logdet.data, v.data, 1, n, ALPHA))
        assert.are.equal(0, NVP.nvp_logit_inverse(back.data, y.data, n, ALPHA))
        assert_close(back, v, 1e-4, 1e-4, "round trip")
    end)

    it("refuses alpha outside [0, 0.5), naming it", function()
        local t, l = T.zeros{4}, T.zeros{1}
        assert.are.equal(1, NVP.nvp_logit_forward(t.data, l.data, t.data, 1, 4, 0.5))
        assert.are.equal("nvp_logit_forward: alpha = 0.5 is not in [0, 0.5)", nffi.last_error())
        assert.are.equal(1, NVP.nvp_logit_inverse(t.data, t.data, 4, -0.1))
        assert.are.equal(1, NVP.nvp_logit_forward(t.data, nil, t.data, 1, 4, 0.05))
        assert.are.equal("nvp_logit_forward: logdet is NULL", nffi.last_error())
    end)
end)

describe("dequantize", function()
    it("is x + u with u from the (seed, counter) stream, reproducible and split-invariant", function()
        local n = 1000
        local px = {}
        for i = 1, n do px[i] = (i * 37) % 256 end
        local x = u8(px)
        local v1, v2, u = T.empty{n}, T.empty{n}, T.empty{n}
        assert.are.equal(0, NVP.nvp_dequantize(v1.data, x, 7, 100, n))
        assert.are.equal(0, NVP.nvp_dequantize(v2.data, x, 7, 100, n))
        assert.are.equal(0, v1:max_abs_diff(v2))
        -- the second half on its own, starting at counter 100 + 500
        local tail = T.empty{n - 500}
        assert.are.equal(0, NVP.nvp_dequantize(tail.data, x + 500, 7, 600, n - 500))
        for i = 0, n - 501 do assert.are.equal(v1.data[500 + i], tail.data[i]) end
        -- the same u as nvp_rng_uniform, and another seed differs
        assert.are.equal(0, NVP.nvp_rng_uniform(u.data, 7, 100, n, 0, 1))
        for i = 0, n - 1 do assert_close(v1.data[i], px[i + 1] + u.data[i], 0, 2e-5, "x + u") end
        NVP.nvp_dequantize(v2.data, x, 8, 100, n)
        assert.is_true(v1:max_abs_diff(v2) > 0.5)
    end)

    it("stays in [x, x + 1), also at 255 where x + u rounds", function()
        local n = 1000000
        local x = ffi.new("uint8_t[?]", n)
        ffi.fill(x, n, 255)
        local v = T.empty{n}
        assert.are.equal(0, NVP.nvp_dequantize(v.data, x, 3, 0, n))
        local lo, hi = math.huge, -math.huge
        for i = 0, n - 1 do
            local s = v.data[i]
            if s < lo then lo = s end
            if s > hi then hi = s end
        end
        assert.is_true(lo >= 255 and hi < 256, ("range [%.9g, %.9g]"):format(lo, hi))
        local q = ffi.new("uint8_t[?]", n)
        assert.are.equal(0, NVP.nvp_quantize(q, v.data, n))
        for i = 0, n - 1, 997 do assert.are.equal(255, q[i]) end
    end)
end)

describe("quantize", function()
    it("is clamp(floor(v), 0, 255), NaN -> 0", function()
        local vals = {-5, -0.5, 0, 0.99, 1, 127.5, 254.9, 255.5, 256, 300, 0 / 0, math.huge, -math.huge}
        local want = {0, 0, 0, 0, 1, 127, 254, 255, 255, 255, 0, 255, 0}
        local v = T.from_table(vals)
        local q = ffi.new("uint8_t[?]", #vals)
        assert.are.equal(0, NVP.nvp_quantize(q, v.data, #vals))
        for i = 1, #vals do assert.are.equal(want[i], q[i - 1], "v = " .. tostring(vals[i])) end
    end)

    it("undoes dequantize", function()
        local n = 256
        local px = {}
        for i = 1, n do px[i] = i - 1 end
        local x, q, v = u8(px), ffi.new("uint8_t[?]", n), T.empty{n}
        NVP.nvp_dequantize(v.data, x, 5, 0, n)
        NVP.nvp_quantize(q, v.data, n)
        for i = 0, n - 1 do assert.are.equal(px[i + 1], q[i]) end
    end)
end)

describe("flip_horizontal_u8", function()
    it("reverses every row of the flagged images only", function()
        local n, c, h, w = 3, 2, 3, 5
        local total = n * c * h * w
        local px = {}
        for i = 1, total do px[i] = (i * 7) % 256 end
        local x = u8(px)
        assert.are.equal(0, NVP.nvp_flip_horizontal_u8(x, u8{1, 0, 1}, n, c, h, w))
        for b = 0, n - 1 do
            for r = 0, c * h - 1 do
                for j = 0, w - 1 do
                    local src = b % 2 == 0 and w - 1 - j or j
                    assert.are.equal(px[(b * c * h + r) * w + src + 1], x[(b * c * h + r) * w + j])
                end
            end
        end
    end)

    it("refuses a NULL flags array", function()
        local x = u8{1, 2, 3, 4}
        assert.are.equal(1, NVP.nvp_flip_horizontal_u8(x, nil, 1, 1, 2, 2))
        assert.are.equal("nvp_flip_horizontal_u8: flags is NULL", nffi.last_error())
    end)
end)

describe("logit forward: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    for _, shape in ipairs{{1, 1}, {2, 7}, {3, 8}, {2, 29}, {4, 784}} do
        it(("on (%d,%d)"):format(shape[1], shape[2]), function()
            local n, d = shape[1], shape[2]
            local T = require "nvp.tensor"
            local v = spec_rng(d):uniform(T.empty{n, d}, 0, 256)
            v.data[0] = 0          -- the ends of the range: p = alpha and p -> 1 - alpha
            v.data[n * d - 1] = 255.999
            local yr, yv = T.empty{n, d}, T.empty{n, d}
            local lr, lv = T.full({n}, 0.5), T.full({n}, 0.5) -- accumulates
            assert.are.equal(0, ON.scalar.nvp_logit_forward(yr.data, lr.data, v.data, n, d, 0.05))
            assert.are.equal(0, ON.avx2.nvp_logit_forward(yv.data, lv.data, v.data, n, d, 0.05))
            assert_close(yv, yr, 1e-6, 2e-6, "y")
            assert_close(lv, lr, 1e-6, 1e-4, "logdet")
        end)
    end

    it("gives the reference's message for a bad alpha", function()
        local buf = require("ffi").new("float[4]")
        assert.are.equal(1, ON.avx2.nvp_logit_forward(buf, buf, buf, 1, 1, 0.5))
        assert.are.equal("nvp_logit_forward: alpha = 0.5 is not in [0, 0.5)", require("nvp.ffi").last_error())
    end)
end)
