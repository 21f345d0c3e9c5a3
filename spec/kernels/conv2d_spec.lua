-- k x k "same" convolution (k = 1, 3): the reference against a direct double-precision Lua conv,
-- the backward against finite differences, the AVX2 path (im2col + OpenBLAS) against the reference
-- on ragged and chunked shapes, NULL-gradient skipping and argument errors.
local T = require "nvp.tensor"
local ffi = require "ffi"
local nffi = require "nvp.ffi"

local NaN = 0 / 0

local function randn(shape, seed) return spec_rng(seed):normal(T.empty(shape)) end

-- Direct Lua conv in double: y[i,o,oy,ox] = (acc and y0 or 0) + b[o] + sum w[o,c,kh,kw] x[i,c,oy+kh-p,ox+kw-p]
local function lua_forward(x, w, b, y0, n, cin, cout, h, wd, k)
    local pad, out = math.floor(k / 2), {}
    for i = 0, n - 1 do
        for o = 0, cout - 1 do
            for oy = 0, h - 1 do
                for ox = 0, wd - 1 do
                    local idx = ((i * cout + o) * h + oy) * wd + ox
                    local s = (y0 and y0.data[idx] or 0) + (b and b.data[o] or 0)
                    for c = 0, cin - 1 do
                        for kh = 0, k - 1 do
                            for kw = 0, k - 1 do
                                local iy, ix = oy + kh - pad, ox + kw - pad
                                if iy >= 0 and iy < h and ix >= 0 and ix < wd then
                                    s = s + w.data[((o * cin + c) * k + kh) * k + kw] * x.data[((i * cin + c) * h + iy) * wd + ix]
                                end
                            end
                        end
                    end
                    out[idx + 1] = s
                end
            end
        end
    end
    return out
end

-- Direct Lua backward in double: returns tables dx, dw, db (gradients only, no accumulation).
local function lua_backward(dy, x, w, n, cin, cout, h, wd, k)
    local pad = math.floor(k / 2)
    local dx, dw, db = {}, {}, {}
    for i = 1, n * cin * h * wd do dx[i] = 0 end
    for i = 1, cout * cin * k * k do dw[i] = 0 end
    for i = 1, cout do db[i] = 0 end
    for i = 0, n - 1 do
        for o = 0, cout - 1 do
            for oy = 0, h - 1 do
                for ox = 0, wd - 1 do
                    local g = dy.data[((i * cout + o) * h + oy) * wd + ox]
                    db[o + 1] = db[o + 1] + g
                    for c = 0, cin - 1 do
                        for kh = 0, k - 1 do
                            for kw = 0, k - 1 do
                                local iy, ix = oy + kh - pad, ox + kw - pad
                                if iy >= 0 and iy < h and ix >= 0 and ix < wd then
                                    local xi = ((i * cin + c) * h + iy) * wd + ix
                                    local wi = ((o * cin + c) * k + kh) * k + kw
                                    dw[wi + 1] = dw[wi + 1] + g * x.data[xi]
                                    dx[xi + 1] = dx[xi + 1] + g * w.data[wi]
                                end
                            end
                        end
                    end
                end
            end
        end
    end
    return dx, dw, db
end

local function plus(t, base) -- table t + tensor base, elementwise
    local out = {}
    for i = 1, #t do out[i] = t[i] + base.data[i - 1] end
    return out
end

local function paths()
    local list = {"_ref", ""}
    if NVP.nvp_cpu_supports("avx2") ~= 0 then list[#list + 1] = "_avx2" end
    if NVP.nvp_cpu_supports("avx512") ~= 0 then list[#list + 1] = "_avx512" end
    return list
end

describe("conv2d forward against a direct Lua conv (double)", function()
    local n, cin, cout, h, wd = 2, 3, 5, 5, 7
    for _, suffix in ipairs(paths()) do
        for _, k in ipairs{1, 3} do
            for _, bias in ipairs{true, false} do
                for _, acc in ipairs{0, 1} do
                    it(("nvp_conv2d_forward%s k=%d bias=%s accumulate=%d"):format(suffix, k, tostring(bias), acc), function()
                        local x, w = randn({n, cin, h, wd}, 1), randn({cout, cin, k, k}, 2)
                        local b = bias and randn({cout}, 3) or nil
                        local y = acc == 1 and randn({n, cout, h, wd}, 4) or T.full({n, cout, h, wd}, NaN)
                        local expect = lua_forward(x, w, b, acc == 1 and y:clone() or nil, n, cin, cout, h, wd, k)
                        assert.are.equal(0, conv_entry("nvp_conv2d_forward" .. suffix)(y.data, x.data, w.data,
                            b and b.data or nil, n, cin, cout, h, wd, k, acc))
                        assert_close(y, expect, 1e-5, 1e-5, "y")
                    end)
                end
            end
        end
    end
end)

describe("conv2d forward of few input channels (the direct AVX-512 loops on that path) against the reference", function()
    -- {n, cin, cout, h, w}: the s/t networks' first convs; planes wider than 16 (two column segments, the
    -- second ragged), narrower, one pixel; cout below, at and past a block of 16 (the one-channel tail)
    local shapes = {{2, 2, 32, 28, 28}, {1, 4, 64, 14, 14}, {3, 3, 17, 5, 37}, {2, 12, 33, 9, 16},
                    {1, 1, 5, 1, 1}, {2, 7, 16, 3, 17}, {1, 6, 3, 2, 33}}
    local needs = {_avx2 = "avx2", _avx512 = "avx512"}
    for _, suffix in ipairs{"", "_avx2", "_avx512"} do
        for _, sh in ipairs(shapes) do
            local n, cin, cout, h, wd = unpack(sh)
            it(("nvp_conv2d_forward%s (%s), bias and accumulate"):format(suffix, table.concat(sh, ",")), function()
                if needs[suffix] and NVP.nvp_cpu_supports(needs[suffix]) == 0 then return end
                local x, w, b = randn({n, cin, h, wd}, 11), randn({cout, cin, 3, 3}, 12), randn({cout}, 13)
                local y0 = randn({n, cout, h, wd}, 14)
                for _, acc in ipairs{0, 1} do
                    for _, bias in ipairs{b, false} do
                        local want = acc == 1 and y0:clone() or T.empty(y0.shape)
                        local got = acc == 1 and y0:clone() or T.full(y0.shape, NaN)
                        local bp = bias and bias.data or nil
                        assert.are.equal(0, conv_entry("nvp_conv2d_forward_ref")(want.data, x.data, w.data, bp, n, cin, cout, h,
                            wd, 3, acc))
                        assert.are.equal(0, conv_entry("nvp_conv2d_forward" .. suffix)(got.data, x.data, w.data, bp, n, cin,
                            cout, h, wd, 3, acc))
                        assert_close(got, want, 1e-5, 1e-5, ("y (accumulate %d, bias %s)"):format(acc, tostring(bias ~= false)))
                    end
                end
            end)
        end
    end
end)

describe("conv2d forward_add (y = r + conv(x) + b) against a direct Lua conv (double)", function()
    -- cin = 3 takes im2col (r copied, then accumulated), cin = 17 Winograd (r added in the output
    -- transform) on the vector paths; r separate from y, and r = y
    for _, suffix in ipairs(paths()) do
        for _, case in ipairs{{3, 1}, {3, 3}, {17, 3}} do
            local cin, k = case[1], case[2]
            it(("nvp_conv2d_forward_add%s cin=%d k=%d"):format(suffix, cin, k), function()
                local n, cout, h, wd = 2, 5, 9, 7
                local x, w, b = randn({n, cin, h, wd}, 11), randn({cout, cin, k, k}, 12), randn({cout}, 13)
                local r = randn({n, cout, h, wd}, 14)
                local expect = lua_forward(x, w, b, r:clone(), n, cin, cout, h, wd, k)
                local y = T.full({n, cout, h, wd}, NaN)
                local f = conv_entry("nvp_conv2d_forward_add" .. suffix)
                assert.are.equal(0, f(y.data, r.data, x.data, w.data, b.data, n, cin, cout, h, wd, k))
                assert_close(y, expect, 1e-5, 1e-5, "y = r + conv")
                local r0 = r:clone()
                assert.are.equal(0, f(r.data, r.data, x.data, w.data, b.data, n, cin, cout, h, wd, k))
                assert_close(r, expect, 1e-5, 1e-5, "r = r + conv")
                assert.is_true(r0:max_abs_diff(r) > 0)
            end)
        end
    end
end)

describe("conv2d backward against a direct Lua backward (double)", function()
    local n, cin, cout, h, wd = 2, 3, 5, 5, 7
    for _, suffix in ipairs(paths()) do
        for _, k in ipairs{1, 3} do
            it(("nvp_conv2d_backward%s k=%d accumulates dx, dw, db"):format(suffix, k), function()
                local x, w, dy = randn({n, cin, h, wd}, 5), randn({cout, cin, k, k}, 6), randn({n, cout, h, wd}, 7)
                local dx, dw, db = randn({n, cin, h, wd}, 8), randn({cout, cin, k, k}, 9), randn({cout}, 10)
                local dx0, dw0, db0 = dx:clone(), dw:clone(), db:clone()
                local ex, ew, eb = lua_backward(dy, x, w, n, cin, cout, h, wd, k)
                assert.are.equal(0, conv_entry("nvp_conv2d_backward" .. suffix)(dx.data, dw.data, db.data, dy.data, x.data,
                    w.data, n, cin, cout, h, wd, k, 1))
                assert_close(dx, plus(ex, dx0), 1e-5, 1e-5, "dx")
                assert_close(dw, plus(ew, dw0), 1e-5, 1e-5, "dw")
                assert_close(db, plus(eb, db0), 1e-5, 1e-5, "db")
            end)
        end
    end
end)

describe("conv2d backward against central finite differences", function()
    for _, k in ipairs{1, 3} do
        it("k = " .. k .. ": dx, dw, db of L = sum(r * conv(x, w) + b)", function()
            local n, cin, cout, h, wd = 2, 2, 3, 4, 3
            local x, w, b = randn({n, cin, h, wd}, 11), randn({cout, cin, k, k}, 12), randn({cout}, 13)
            local r = randn({n, cout, h, wd}, 14)
            local y = T.empty{n, cout, h, wd}
            local function loss()
                assert.are.equal(0, NVP.nvp_conv2d_forward(y.data, nil, x.data, nil, w.data, b.data, n, cin, cout, h, wd, k))
                local s = 0
                for i = 0, y.numel - 1 do s = s + r.data[i] * y.data[i] end
                return s
            end
            local dx, dw, db = T.zeros(x.shape), T.zeros(w.shape), T.zeros(b.shape)
            assert.are.equal(0, NVP.nvp_conv2d_backward(dx.data, dw.data, db.data, r.data, x.data, nil, w.data,
                n, cin, cout, h, wd, k, 1))
            for _, case in ipairs{{x, dx, "dx"}, {w, dw, "dw"}, {b, db, "db"}} do
                local p, g, name = case[1], case[2], case[3]
                local num = {}
                for i = 0, p.numel - 1 do num[i + 1] = numgrad(loss, p.data, i, 1e-2) end
                assert_close(g, num, 2e-3, 2e-3, name)
            end
        end)
    end
end)

describe("conv2d: avx2 == ref on ragged and chunked shapes", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    -- {n, cin, cout, h, w, k}: odd sizes; a single image (direct GEMM into y); and shapes whose
    -- im2col exceeds one chunk, so several GEMMs (and a last, shorter chunk) run.
    local shapes = {
        {3, 9, 11, 13, 11, 3}, {1, 5, 7, 3, 17, 3}, {4, 1, 3, 1, 1, 3}, {2, 3, 2, 2, 9, 3},
        {3, 9, 11, 13, 11, 1}, {1, 5, 7, 3, 17, 1},
        {5, 64, 6, 40, 40, 3}, {3, 300, 4, 50, 60, 1}, {3, 700, 3, 40, 40, 1},
    }
    for _, s in ipairs(shapes) do
        local n, cin, cout, h, wd, k = s[1], s[2], s[3], s[4], s[5], s[6]
        it(("(n,cin,cout,h,w,k) = (%d,%d,%d,%d,%d,%d)"):format(n, cin, cout, h, wd, k), function()
            local x, w, b = randn({n, cin, h, wd}, 21), randn({cout, cin, k, k}, 22), randn({cout}, 23)
            local y0 = randn({n, cout, h, wd}, 24)
            local tol = 1e-4 * math.sqrt(cin * k * k)
            for acc = 0, 1 do
                local yr, ya = y0:clone(), y0:clone()
                assert.are.equal(0, conv_entry("nvp_conv2d_forward_ref")(yr.data, x.data, w.data, b.data, n, cin, cout, h, wd, k, acc))
                assert.are.equal(0, conv_entry("nvp_conv2d_forward_avx2")(ya.data, x.data, w.data, b.data, n, cin, cout, h, wd, k, acc))
                assert_close(ya, yr, 1e-4, tol, "y, accumulate = " .. acc)
            end
            local dy = randn({n, cout, h, wd}, 25)
            local grads = {}
            for _, suffix in ipairs{"_ref", "_avx2"} do
                local dx, dw, db = randn({n, cin, h, wd}, 26), randn({cout, cin, k, k}, 27), randn({cout}, 28)
                assert.are.equal(0, conv_entry("nvp_conv2d_backward" .. suffix)(dx.data, dw.data, db.data, dy.data, x.data,
                    w.data, n, cin, cout, h, wd, k, 1))
                grads[suffix] = {dx, dw, db}
            end
            local gtol = 1e-4 * math.sqrt(n * h * wd)
            assert_close(grads._avx2[1], grads._ref[1], 1e-4, 1e-4 * math.sqrt(cout * k * k), "dx")
            assert_close(grads._avx2[2], grads._ref[2], 1e-4, gtol, "dw")
            assert_close(grads._avx2[3], grads._ref[3], 1e-4, gtol, "db")
        end)
    end
end)

describe("conv2d: both fast paths (batched and per-thread) == ref, any team size", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    local ffi = require "ffi"
    -- the conv algorithm override (nvp.h): 1 = im2col batched, 2 = im2col per image, 0 = the rules
    local algorithms = {[0] = "auto", "im2col_batched", "im2col"}
    -- {n, cin, cout, h, w, k}: several im2col row blocks per image, the last one shorter (h = 37);
    -- fewer images than threads (a 1x1 forward then splits its output channels: 9 row blocks of 8 for
    -- one image); more images than threads, unevenly split; big enough (>= 1M MACs) that the
    -- per-thread path really runs a team.
    local shapes = {
        {3, 48, 3, 37, 20, 3}, {1, 16, 24, 30, 31, 3}, {5, 24, 9, 19, 21, 3}, {5, 64, 13, 19, 21, 1},
        {2, 40, 12, 33, 35, 1}, {1, 64, 72, 16, 16, 1},
    }
    local function run(s, path, threads)
        local n, cin, cout, h, wd, k = s[1], s[2], s[3], s[4], s[5], s[6]
        local saved_threads = NVP.nvp_get_threads()
        assert.are.equal(0, NVP.nvp_set_threads(threads))
        local x, w, b = randn({n, cin, h, wd}, 41), randn({cout, cin, k, k}, 42), randn({cout}, 43)
        local y, dy = randn({n, cout, h, wd}, 44), randn({n, cout, h, wd}, 45)
        local dx, dw, db = randn({n, cin, h, wd}, 46), randn({cout, cin, k, k}, 47), randn({cout}, 48)
        local st1, st2 = with_conv_algorithm(algorithms[path], function()
            return conv_entry("nvp_conv2d_forward_avx2")(y.data, x.data, w.data, b.data, n, cin, cout, h, wd, k, 1),
                conv_entry("nvp_conv2d_backward_avx2")(dx.data, dw.data, db.data, dy.data, x.data, w.data, n, cin, cout,
                    h, wd, k, 1)
        end)
        assert.are.equal(0, NVP.nvp_set_threads(saved_threads))
        assert.are.equal(0, st1)
        assert.are.equal(0, st2)
        return {y, dx, dw, db}
    end
    local function reference(s)
        local n, cin, cout, h, wd, k = s[1], s[2], s[3], s[4], s[5], s[6]
        local x, w, b = randn({n, cin, h, wd}, 41), randn({cout, cin, k, k}, 42), randn({cout}, 43)
        local y, dy = randn({n, cout, h, wd}, 44), randn({n, cout, h, wd}, 45)
        local dx, dw, db = randn({n, cin, h, wd}, 46), randn({cout, cin, k, k}, 47), randn({cout}, 48)
        assert.are.equal(0, conv_entry("nvp_conv2d_forward_ref")(y.data, x.data, w.data, b.data, n, cin, cout, h, wd, k, 1))
        assert.are.equal(0, conv_entry("nvp_conv2d_backward_ref")(dx.data, dw.data, db.data, dy.data, x.data, w.data, n, cin,
            cout, h, wd, k, 1))
        return {y, dx, dw, db}
    end
    local function same_bits(a, b)
        return ffi.C.memcmp(a.data, b.data, a.numel * 4) == 0
    end
    pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")
    for _, s in ipairs(shapes) do
        local n, cin, cout, h, wd, k = s[1], s[2], s[3], s[4], s[5], s[6]
        it(("(n,cin,cout,h,w,k) = (%d,%d,%d,%d,%d,%d)"):format(n, cin, cout, h, wd, k), function()
            local ref = reference(s)
            local tol = {1e-4 * math.sqrt(cin * k * k), 1e-4 * math.sqrt(cout * k * k), 1e-4 * math.sqrt(n * h * wd),
                1e-4 * math.sqrt(n * h * wd)}
            local names = {"y", "dx", "dw", "db"}
            for _, case in ipairs{{1, 2}, {2, 1}, {2, 2}, {2, 3}, {0, 2}, {0, 3}} do
                local got = run(s, case[1], case[2])
                for j = 1, 4 do
                    assert_close(got[j], ref[j], 1e-4, tol[j], ("%s, path %d, %d threads"):format(names[j], case[1], case[2]))
                end
            end
            -- the same team size gives the same bits
            local a, b = run(s, 2, 2), run(s, 2, 2)
            for j = 1, 4 do assert.is_true(same_bits(a[j], b[j]), names[j] .. " differs between two runs") end
            if k == 1 and n < 3 then -- the 1x1 forward split over 3 threads: one thread's per-image bits
                assert.is_true(same_bits(run(s, 0, 3)[1], run(s, 2, 1)[1]), "y of the split 1x1 forward")
            end
        end)
    end
end)

describe("conv2d backward skips NULL gradients", function()
    for _, suffix in ipairs(paths()) do
        for _, k in ipairs{1, 3} do
            it(("nvp_conv2d_backward%s k=%d"):format(suffix, k), function()
                local n, cin, cout, h, wd = 3, 4, 5, 6, 7
                local x, w, dy = randn({n, cin, h, wd}, 31), randn({cout, cin, k, k}, 32), randn({n, cout, h, wd}, 33)
                local fx, fw, fb = T.zeros(x.shape), T.zeros(w.shape), T.zeros{cout}
                local f = conv_entry("nvp_conv2d_backward" .. suffix)
                assert.are.equal(0, f(fx.data, fw.data, fb.data, dy.data, x.data, w.data, n, cin, cout, h, wd, k, 1))
                -- each alone; x may be NULL without dw, w may be NULL without dx
                local dx, dw, db = T.zeros(x.shape), T.zeros(w.shape), T.zeros{cout}
                assert.are.equal(0, f(dx.data, nil, nil, dy.data, nil, w.data, n, cin, cout, h, wd, k, 1))
                assert.are.equal(0, f(nil, dw.data, nil, dy.data, x.data, nil, n, cin, cout, h, wd, k, 1))
                assert.are.equal(0, f(nil, nil, db.data, dy.data, nil, nil, n, cin, cout, h, wd, k, 1))
                assert.are.equal(0, f(nil, nil, nil, dy.data, nil, nil, n, cin, cout, h, wd, k, 1))
                -- accumulate_dx = 0: dx written, its NaN garbage never read (with dw and without)
                local dxw = T.full(x.shape, NaN)
                assert.are.equal(0, f(dxw.data, nil, nil, dy.data, nil, w.data, n, cin, cout, h, wd, k, 0))
                assert_close(dxw, fx, 1e-6, 1e-6, "dx written")
                local dxw2, dw2 = T.full(x.shape, NaN), T.zeros(w.shape)
                assert.are.equal(0, f(dxw2.data, dw2.data, nil, dy.data, x.data, w.data, n, cin, cout, h, wd, k, 0))
                assert_close(dxw2, fx, 1e-6, 1e-6, "dx written beside dw")
                assert_close(dw2, fw, 1e-6, 1e-6, "dw beside a written dx")
                assert_close(dx, fx, 1e-6, 1e-6, "dx alone")
                assert_close(dw, fw, 1e-6, 1e-6, "dw alone")
                assert_close(db, fb, 1e-6, 1e-6, "db alone")
            end)
        end
    end
end)

describe("conv2d argument errors", function()
    local x, w, y = T.zeros{2 * 3 * 5 * 7}, T.zeros{5 * 3 * 9}, T.zeros{2 * 5 * 5 * 7}
    for _, suffix in ipairs(paths()) do
        it("nvp_conv2d_forward" .. suffix .. " names a bad k, a negative size and a NULL operand", function()
            local f = conv_entry("nvp_conv2d_forward" .. suffix)
            assert.are.equal(6, f(y.data, x.data, w.data, nil, 2, 3, 5, 5, 7, 5, 0))
            assert.are.equal("nvp_conv2d_forward: k = 5 is not supported (k must be 1 or 3)", nffi.last_error())
            assert.are.equal(6, f(y.data, x.data, w.data, nil, 2, 3, 5, 5, 7, 2, 0))
            assert.matches("k = 2 is not supported", nffi.last_error())
            assert.are.equal(1, f(y.data, x.data, w.data, nil, 2, -3, 5, 5, 7, 3, 0))
            assert.are.equal("nvp_conv2d_forward: cin = -3 is negative", nffi.last_error())
            assert.are.equal(1, f(y.data, x.data, w.data, nil, 2, 3, 5, -5, 7, 3, 0))
            assert.matches("h = %-5 is negative", nffi.last_error())
            assert.are.equal(1, f(y.data, nil, w.data, nil, 2, 3, 5, 5, 7, 3, 0))
            assert.are.equal("nvp_conv2d_forward: x (2,3,5,7) is NULL", nffi.last_error())
            assert.are.equal(1, f(y.data, x.data, nil, nil, 2, 3, 5, 5, 7, 3, 0))
            assert.are.equal("nvp_conv2d_forward: w (5,3,3,3) is NULL", nffi.last_error())
        end)
        it("nvp_conv2d_backward" .. suffix .. " names a bad k, a negative size and a missing input", function()
            local f = conv_entry("nvp_conv2d_backward" .. suffix)
            assert.are.equal(6, f(x.data, nil, nil, y.data, x.data, w.data, 2, 3, 5, 5, 7, 0, 1))
            assert.are.equal("nvp_conv2d_backward: k = 0 is not supported (k must be 1 or 3)", nffi.last_error())
            assert.are.equal(1, f(x.data, nil, nil, y.data, x.data, w.data, -2, 3, 5, 5, 7, 3, 1))
            assert.are.equal("nvp_conv2d_backward: n = -2 is negative", nffi.last_error())
            assert.are.equal(1, f(nil, w.data, nil, y.data, nil, w.data, 2, 3, 5, 5, 7, 3, 1))
            assert.are.equal("nvp_conv2d_backward: x (2,3,5,7) is NULL", nffi.last_error())
            assert.are.equal(1, f(x.data, nil, nil, nil, x.data, w.data, 2, 3, 5, 5, 7, 3, 1))
            assert.are.equal("nvp_conv2d_backward: dy (2,5,5,7) is NULL", nffi.last_error())
        end)
    end

    it("empty batches and zero input channels are fine (y = bias)", function()
        local b = T.from_table{1, 2}
        local yy = T.full({1, 2, 2, 2}, NaN)
        for _, suffix in ipairs(paths()) do
            assert.are.equal(0, conv_entry("nvp_conv2d_forward" .. suffix)(nil, nil, nil, nil, 0, 3, 5, 5, 7, 3, 0))
            assert.are.equal(0, conv_entry("nvp_conv2d_forward" .. suffix)(yy.data, nil, nil, b.data, 1, 0, 2, 2, 2, 3, 0))
            assert.are.same({1, 1, 1, 1, 2, 2, 2, 2}, yy:to_table())
        end
    end)

    it("names the algorithm each pass runs (the dispatch rule: Winograd for 3x3 with >= 16 input channels)", function()
        local function name(pass, n, cin, cout, h, w, k)
            return ffi.string(NVP.nvp_conv2d_path_name(pass, n, cin, cout, h, w, k))
        end
        assert.are.equal("unknown pass", name(3, 64, 64, 64, 32, 32, 3))
        local scalar = ffi.string(NVP.nvp_cpu_path()) == "scalar"
        if scalar then
            assert.are.equal("direct (scalar reference)", name(0, 64, 64, 64, 32, 32, 3))
            return
        end
        assert.are.equal(0, NVP.nvp_get_conv_algorithm()) -- the rules, not an override
        for pass = 0, 2 do
            -- F(4x4) from 14x14 with the AVX-512 transforms; with the AVX2 ones on 14-16 wide planes and
            -- from 28x28, F(2x2) between; on both, F(7x7) on 14x14 and 28x28 (2 x 2 and 4 x 4 tiles of 7)
            -- from 32 images; F(8x8) on 32x32 (4 x 4 tiles of 8) and with AVX-512 on 16x16 (2 x 2)
            local avx512 = ffi.string(NVP.nvp_cpu_path()) == "avx512"
            assert.are.equal("winograd F(8x8,3x3)", name(pass, 64, 64, 64, 32, 32, 3))
            assert.are.equal(avx512 and "winograd F(8x8,3x3)" or "winograd F(4x4,3x3)", name(pass, 64, 128, 128, 16, 16, 3))
            assert.are.equal("winograd F(4x4,3x3)", name(pass, 31, 128, 128, 16, 16, 3))
            assert.are.equal("winograd F(7x7,3x3)", name(pass, 64, 64, 64, 14, 14, 3))
            assert.are.equal("winograd F(7x7,3x3)", name(pass, 64, 32, 32, 28, 28, 3))
            assert.are.equal("winograd F(4x4,3x3)", name(pass, 8, 64, 64, 14, 14, 3))
            -- 12x12: 2 x 2 tiles of 7, but no fewer products than F(4x4)'s 3 x 3 tiles of 4
            assert.are_not.equal("winograd F(7x7,3x3)", name(pass, 64, 32, 32, 12, 12, 3))
            assert.are.equal(avx512 and "winograd F(4x4,3x3)" or "winograd F(2x2,3x3)", name(pass, 64, 32, 32, 20, 20, 3))
            assert.are.equal(avx512 and "winograd F(8x8,3x3)" or "winograd F(2x2,3x3)", name(pass, 64, 64, 64, 13, 16, 3))
            assert.are.equal("winograd F(2x2,3x3)", name(pass, 8, 64, 64, 13, 16, 3))
            -- one image, 1x1, more threads than images: the forward splits the output channels
            local saved = NVP.nvp_get_threads()
            assert.are.equal(0, NVP.nvp_set_threads(2))
            assert.are.equal(pass == 0 and "1x1 split over output channels" or "im2col batched",
                name(pass, 1, 128, 128, 16, 16, 1))
            assert.are.equal(0, NVP.nvp_set_threads(saved))
            -- few input channels: the forward in direct AVX-512 loops, the backward passes im2col
            local few = (avx512 and pass == 0) and "direct AVX-512 (few input channels)" or "im2col per image"
            assert.are.equal(few, name(pass, 64, 3, 64, 32, 32, 3))
            assert.are.equal(few, name(pass, 64, 12, 64, 16, 16, 3))
            assert.are.equal("im2col per image", name(pass, 64, 13, 64, 16, 16, 3))
            assert.are.equal("im2col per image", name(pass, 64, 64, 64, 32, 32, 1))
        end
    end)
end)
