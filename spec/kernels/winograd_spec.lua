-- Winograd F(2x2,3x3), F(4x4,3x3), F(7x7,3x3) and F(8x8,3x3) convolutions (winograd.c, winograd_avx2.c, winograd_avx512.c) against the direct
-- reference conv (the scalar path's nvp_conv2d_*) on ragged shapes, for all three passes and every CPU path
-- (the Winograd algorithms forced with nvp_set_conv_algorithm: conv_entry in spec/helpers.lua); thread
-- counts; the override's routing and names; argument errors.
--
-- Tolerances, from the measured error (experiments/results/winograd.md): Winograd's float32 error
-- scales with the largest value in a tile's transforms, not with each output, so it is bounded
-- relative to max|ref| of the whole output: worst measured max|diff| / max|ref| over shapes up to
-- 128 channels was 1.4e-6 for F(2x2) and 8.4e-6 for F(4x4) (NMSE <= 5e-13 and 5e-12); F(7x7) on the
-- shapes below 7.6e-5 (NMSE 2.9e-10), F(8x8) 2.7e-4 (NMSE 3.6e-9). The bounds leave a 5-7x margin: |diff| <= TOL * (max|ref| +
-- |ref|), NMSE <= NMSE_MAX.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local ffi = require "ffi"

local TOL = {[2] = 1e-5, [4] = 4e-5, [7] = 4e-4, [8] = 1.5e-3}
local NMSE_MAX = {[2] = 1e-11, [4] = 1e-10, [7] = 2e-9, [8] = 2e-8}

local function randn(shape, seed) return spec_rng(seed):normal(T.empty(shape)) end

local function max_abs(t)
    local m = 0
    for i = 0, t.numel - 1 do m = math.max(m, math.abs(t.data[i])) end
    return m
end

-- got vs ref (tensors) under tile's bounds
local function assert_wino_close(got, ref, tile, what)
    local scale = max_abs(ref)
    local se, sr = 0, 0
    for i = 0, ref.numel - 1 do
        se = se + (got.data[i] - ref.data[i]) ^ 2
        sr = sr + ref.data[i] ^ 2
    end
    local nmse = sr > 0 and se / sr or se
    assert(nmse <= NMSE_MAX[tile], ("%s: NMSE %.3g > %.3g (F(%dx%d,3x3))"):format(what, nmse, NMSE_MAX[tile], tile, tile))
    assert_close(got, ref, TOL[tile], TOL[tile] * scale, what)
end

-- {n, cin, cout, h, w}: H, W odd and not multiples of 2 or 4; C not multiples of 8; batch 1 and 3;
-- planes smaller than one tile; one wide, flat plane; realistic channel counts; planes 37 and 67 wide.
-- The AVX-512 register-row transforms (W <= 32, >= 4 tiles a row) group 1-4 tile rows per vector:
-- W = 9, 11, 14, 16 (one zmm a row), 19 (two zmm, 3 tile rows under F(4x4), the last group short),
-- 29, 32 (the widest they take). The AVX2 ones whose tile row is one ymm: F(2x2) at W = 9-14, F(4x4)
-- at W = 25-28 (7 tiles) and 29-32 (8 tiles); F(4x4) with two tile rows a ymm at W = 13-16.
local shapes = {
    {2, 6, 5, 13, 19}, {1, 3, 4, 7, 32},
    {1, 5, 7, 7, 9}, {3, 9, 11, 13, 11}, {3, 17, 6, 5, 3}, {1, 3, 13, 1, 1}, {3, 2, 3, 2, 3},
    {1, 12, 10, 3, 29}, {3, 31, 33, 15, 14}, {2, 64, 64, 16, 16}, {2, 5, 6, 9, 28}, {1, 4, 3, 6, 25},
    {1, 4, 5, 6, 37}, -- more than 16 tiles per row under F(2x2): the AVX-512 transforms' chunked rows
    {1, 2, 3, 5, 67}, -- and under F(4x4)
    {2, 5, 6, 9, 13}, {1, 3, 4, 18, 15}, -- F(4x4)'s AVX2 pairs of tile rows (W 13-16): an odd number of them
    {1, 75, 70, 5, 6}, -- the vector filter transform's 64-column blocks, a block of 8 and a scalar tail
    -- F(7x7)'s vector transforms take planes of 2 x 2 tiles of 7 (13x11, 9x13 above; 16 or 8 tiles a
    -- vector across the images) and 4 x 4 tiles (28x28), the others (7x9, 9x28, ...) the scalar ones:
    -- two or more vectors of images, the last one short; ragged 2 x 2- and 4 x 4-tile planes, 8 wide
    {11, 9, 7, 14, 14}, {3, 17, 6, 28, 28}, {20, 3, 5, 7, 7}, {5, 4, 5, 8, 12}, {2, 5, 6, 23, 25}, {3, 4, 3, 9, 8},
    -- F(8x8)'s vector transforms take planes of 2 x 2 tiles of 8 (15x14, 16x16, 14x14 above: groups of
    -- four images, full and short) and 4 x 4 tiles (28x28 above), the others the scalar ones
    {9, 5, 6, 16, 13}, {4, 6, 5, 10, 9}, {2, 5, 7, 32, 32}, {1, 6, 5, 27, 31}, {2, 3, 4, 14, 30},
}

local function problem(s)
    local n, cin, cout, h, wd = s[1], s[2], s[3], s[4], s[5]
    local p = {n = n, cin = cin, cout = cout, h = h, w = wd}
    p.x, p.wt, p.b = randn({n, cin, h, wd}, 1), randn({cout, cin, 3, 3}, 2), randn({cout}, 3)
    p.y0, p.dy = randn({n, cout, h, wd}, 4), randn({n, cout, h, wd}, 5)
    p.dx0, p.dw0, p.db0 = randn({n, cin, h, wd}, 6), randn({cout, cin, 3, 3}, 7), randn({cout}, 8)
    return p
end

-- the trailing size arguments of nvp_winograd_backward*
-- the size arguments of a backward call, then accumulate_dx (1 unless given)
local function args(p, tile, accumulate_dx) return p.n, p.cin, p.cout, p.h, p.w, tile, accumulate_dx or 1 end

describe("winograd vs the direct reference conv", function()
    for _, s in ipairs(shapes) do
        local p = problem(s)
        -- the reference, once per shape: y = conv + b (and accumulated into y0), dx, dw, db accumulated
        local ref = {}
        ref.y = T.empty{p.n, p.cout, p.h, p.w}
        assert(conv_entry("nvp_conv2d_forward_ref")(ref.y.data, p.x.data, p.wt.data, p.b.data, p.n, p.cin, p.cout, p.h, p.w, 3, 0) == 0)
        ref.yacc = p.y0:clone()
        assert(conv_entry("nvp_conv2d_forward_ref")(ref.yacc.data, p.x.data, p.wt.data, nil, p.n, p.cin, p.cout, p.h, p.w, 3, 1) == 0)
        ref.dx, ref.dw, ref.db = p.dx0:clone(), p.dw0:clone(), p.db0:clone()
        assert(conv_entry("nvp_conv2d_backward_ref")(ref.dx.data, ref.dw.data, ref.db.data, p.dy.data, p.x.data, p.wt.data,
            p.n, p.cin, p.cout, p.h, p.w, 3, 1) == 0)
        for _, suffix in ipairs(kernel_suffixes()) do
            for _, tile in ipairs{2, 4, 7, 8} do
                local name = ("F(%dx%d) %s (n,cin,cout,h,w) = (%s)"):format(tile, tile, suffix, table.concat(s, ","))
                it("forward " .. name, function()
                    local f = conv_entry("nvp_winograd_forward" .. suffix)
                    local y = T.full({p.n, p.cout, p.h, p.w}, 0 / 0) -- accumulate = 0 must not read y
                    assert.are.equal(0, f(y.data, p.x.data, p.wt.data, p.b.data, p.n, p.cin, p.cout, p.h, p.w, tile, 0))
                    assert_wino_close(y, ref.y, tile, "y")
                    local yacc = p.y0:clone()
                    assert.are.equal(0, f(yacc.data, p.x.data, p.wt.data, nil, p.n, p.cin, p.cout, p.h, p.w, tile, 1))
                    assert_wino_close(yacc, ref.yacc, tile, "y accumulated")
                    -- y = r + conv(x): r = y0 read from its own tensor, y's NaN garbage never read
                    local yadd = T.full({p.n, p.cout, p.h, p.w}, 0 / 0)
                    assert.are.equal(0, conv_entry("nvp_winograd_forward_add" .. suffix)(yadd.data, p.y0.data, p.x.data,
                        p.wt.data, nil, p.n, p.cin, p.cout, p.h, p.w, tile))
                    assert_wino_close(yadd, ref.yacc, tile, "y = r + conv")
                end)
                it("backward-data, backward-filter and bias " .. name, function()
                    local f = conv_entry("nvp_winograd_backward" .. suffix)
                    local dx, dw, db = p.dx0:clone(), p.dw0:clone(), p.db0:clone()
                    assert.are.equal(0, f(dx.data, dw.data, db.data, p.dy.data, p.x.data, p.wt.data, args(p, tile)))
                    assert_wino_close(dx, ref.dx, tile, "dx")
                    assert_wino_close(dw, ref.dw, tile, "dw")
                    assert_close(db, ref.db, 1e-5, 1e-5, "db")
                    -- each gradient alone gives the same numbers (x may be NULL without dw, w without dx)
                    local dx1, dw1, db1 = p.dx0:clone(), p.dw0:clone(), p.db0:clone()
                    assert.are.equal(0, f(dx1.data, nil, nil, p.dy.data, nil, p.wt.data, args(p, tile)))
                    assert.are.equal(0, f(nil, dw1.data, nil, p.dy.data, p.x.data, nil, args(p, tile)))
                    assert.are.equal(0, f(nil, nil, db1.data, p.dy.data, nil, nil, args(p, tile)))
                    -- accumulate_dx = 0 writes dx without reading it: NaN garbage before, ref.dx - dx0 after
                    local dxw = T.full(p.dx0.shape, 0 / 0)
                    assert.are.equal(0, f(dxw.data, nil, nil, p.dy.data, nil, p.wt.data, args(p, tile, 0)))
                    assert_wino_close(dxw:clone():axpy(1, p.dx0), ref.dx, tile, "dx written")
                    assert_close(dx1, dx, 0, 0, "dx alone")
                    assert_close(dw1, dw, 0, 0, "dw alone")
                    assert_close(db1, db, 0, 0, "db alone")
                end)
            end
        end
    end
end)

describe("winograd: thread count", function()
    -- enough work (>= 1M multiply-adds) that a team really runs; 5 images split unevenly; 19x21 planes
    -- (the per-plane transforms, F(7x7) and F(8x8) the scalar ones) and 16x16 planes (F(7x7) scalar,
    -- F(8x8) the vector ones with short groups of images)
    for _, shape in ipairs{{5, 24, 20, 19, 21}, {5, 24, 20, 16, 16}} do
        local p = problem(shape)
        local function run(suffix, tile, threads)
            local saved = NVP.nvp_get_threads()
            assert.are.equal(0, NVP.nvp_set_threads(threads))
            local y = T.empty{p.n, p.cout, p.h, p.w}
            local dx, dw, db = p.dx0:clone(), p.dw0:clone(), p.db0:clone()
            local s1 = conv_entry("nvp_winograd_forward" .. suffix)(y.data, p.x.data, p.wt.data, p.b.data, p.n, p.cin, p.cout,
                p.h, p.w, tile, 0)
            local s2 = conv_entry("nvp_winograd_backward" .. suffix)(dx.data, dw.data, db.data, p.dy.data, p.x.data, p.wt.data,
                args(p, tile))
            assert.are.equal(0, NVP.nvp_set_threads(saved))
            assert.are.equal(0, s1)
            assert.are.equal(0, s2)
            return {y, dx, dw, db}
        end
        pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")
        for _, suffix in ipairs(kernel_suffixes()) do
            for _, tile in ipairs{2, 4, 7, 8} do
                it(("F(%dx%d) %s, %dx%d: 1, 2 and 3 threads agree; the same team gives the same bits"):format(tile, tile,
                    suffix, p.h, p.w), function()
                    local one = run(suffix, tile, 1)
                    local names = {"y", "dx", "dw", "db"}
                    for _, threads in ipairs{2, 3} do
                        local got = run(suffix, tile, threads)
                        -- the team changes the chunks (so OpenBLAS's blocking) and dw's summation order:
                        -- float rounding only
                        for j = 1, 4 do assert_wino_close(got[j], one[j], tile, ("%s, %d threads"):format(names[j], threads)) end
                    end
                    local a, b = run(suffix, tile, 2), run(suffix, tile, 2)
                    for j = 1, 4 do
                        assert.is_true(ffi.C.memcmp(a[j].data, b[j].data, a[j].numel * 4) == 0, names[j] .. " differs between two runs")
                    end
                end)
            end
        end
    end
end)

describe("winograd: fewer images than threads split the channels (forward_split)", function()
    -- one image (sampling, encoding) and two images under three threads: the team splits the input
    -- channels for the transform and the output channels (20 = 10 + 10 or 6 + 7 + 7) for the rest, in
    -- blocks of filters (Cin 64: 24 rows, 32 = 24 + 8; Cin 128: 8 rows, 18 = 8 + 8 + 2)
    pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")
    for _, s in ipairs{{1, 24, 20, 19, 21}, {2, 24, 20, 19, 21}, {1, 64, 64, 16, 16}, {1, 128, 36, 8, 8}} do
        local p = problem(s)
        local ref = T.empty{p.n, p.cout, p.h, p.w}
        assert(conv_entry("nvp_conv2d_forward_ref")(ref.data, p.x.data, p.wt.data, p.b.data, p.n, p.cin, p.cout, p.h, p.w, 3, 0) == 0)
        local refadd = p.y0:clone()
        assert(conv_entry("nvp_conv2d_forward_ref")(refadd.data, p.x.data, p.wt.data, nil, p.n, p.cin, p.cout, p.h, p.w, 3, 1) == 0)
        local function run(suffix, tile, threads)
            local saved = NVP.nvp_get_threads()
            assert.are.equal(0, NVP.nvp_set_threads(threads))
            local y, yadd = T.full({p.n, p.cout, p.h, p.w}, 0 / 0), T.full({p.n, p.cout, p.h, p.w}, 0 / 0)
            local s1 = conv_entry("nvp_winograd_forward" .. suffix)(y.data, p.x.data, p.wt.data, p.b.data, p.n, p.cin,
                p.cout, p.h, p.w, tile, 0)
            local s2 = conv_entry("nvp_winograd_forward_add" .. suffix)(yadd.data, p.y0.data, p.x.data, p.wt.data, nil, p.n,
                p.cin, p.cout, p.h, p.w, tile)
            assert.are.equal(0, NVP.nvp_set_threads(saved))
            assert.are.equal(0, s1)
            assert.are.equal(0, s2)
            return y, yadd
        end
        for _, suffix in ipairs(kernel_suffixes()) do
            for _, tile in ipairs{2, 4, 7, 8} do
                it(("F(%dx%d) %s, (n,cin,cout,h,w) = (%s): 2 and 3 threads give one thread's bits"):format(tile, tile,
                    suffix, table.concat(s, ",")), function()
                    local y1, yadd1 = run(suffix, tile, 1)
                    assert_wino_close(y1, ref, tile, "y, 1 thread")
                    assert_wino_close(yadd1, refadd, tile, "y = r + conv, 1 thread")
                    for _, threads in ipairs{2, 3} do
                        local y, yadd = run(suffix, tile, threads)
                        -- each output channel's products and transform are one thread's, as with one thread
                        assert.is_true(ffi.C.memcmp(y.data, y1.data, y.numel * 4) == 0, ("y, %d threads"):format(threads))
                        assert.is_true(ffi.C.memcmp(yadd.data, yadd1.data, y.numel * 4) == 0,
                            ("y = r + conv, %d threads"):format(threads))
                    end
                end)
            end
        end
    end
end)

describe("the conv algorithm override (nvp_set_conv_algorithm) routes 3x3 convs", function()
    -- Cin = 10: the rules pick the direct reference (scalar), im2col (avx2) or the direct AVX-512 loops
    local p = problem{3, 10, 12, 9, 11}
    local function run()
        local y, dx, dw, db = T.empty{p.n, p.cout, p.h, p.w}, p.dx0:clone(), p.dw0:clone(), p.db0:clone()
        assert.are.equal(0, NVP.nvp_conv2d_forward(y.data, nil, p.x.data, nil, p.wt.data, p.b.data, p.n, p.cin, p.cout,
            p.h, p.w, 3))
        assert.are.equal(0, NVP.nvp_conv2d_backward(dx.data, dw.data, db.data, p.dy.data, p.x.data, nil, p.wt.data,
            p.n, p.cin, p.cout, p.h, p.w, 3, 1))
        return {y, dx, dw, db}
    end
    local function name(pass)
        return ffi.string(NVP.nvp_conv2d_path_name(pass, p.n, p.cin, p.cout, p.h, p.w, 3))
    end
    pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")
    for _, case in ipairs{{"winograd_f2", 2}, {"winograd_f4", 4}, {"winograd_f7", 7}, {"winograd_f8", 8}} do
        for _, suffix in ipairs(kernel_suffixes()) do
            it(("%s on the %s path: every pass by F(%dx%d), and not what the rules run"):format(case[1], suffix,
                case[2], case[2]), function()
                local path = ({_ref = "scalar", _avx2 = "avx2", _avx512 = "avx512"})[suffix]
                local rules = on_path(path, run)
                local forced = on_path(path, with_conv_algorithm, case[1], run)
                for pass = 0, 2 do
                    assert.are.equal(("winograd F(%dx%d,3x3)"):format(case[2], case[2]),
                        on_path(path, with_conv_algorithm, case[1], name, pass))
                    assert.are_not.equal(("winograd F(%dx%d,3x3)"):format(case[2], case[2]), on_path(path, name, pass))
                end
                local names = {"y", "dx", "dw", "db"}
                for j = 1, 4 do
                    assert_wino_close(forced[j], rules[j], case[2], names[j])
                    assert.is_false(ffi.C.memcmp(forced[j].data, rules[j].data, rules[j].numel * 4) == 0,
                        names[j] .. ": the override changed nothing")
                end
            end)
        end
    end
end)

describe("the conv algorithm override: names and errors", function()
    local n, cin, cout, h, w = 64, 64, 64, 32, 32
    local function name(pass, k)
        return ffi.string(NVP.nvp_conv2d_path_name(pass, n, cin, cout, h, w, k or 3))
    end
    it("each algorithm names itself where the CPU path has it; 1x1 convs keep the rules under Winograd", function()
        local scalar = ffi.string(NVP.nvp_cpu_path()) == "scalar"
        -- 32x32, 64 images: F(8x8) on both vector paths; Winograd forced on the scalar path takes F(4x4)
        local rules = scalar and "winograd F(4x4,3x3)" or "winograd F(8x8,3x3)"
        local expect = {
            auto = rules, winograd = rules, winograd_f2 = "winograd F(2x2,3x3)",
            winograd_f4 = "winograd F(4x4,3x3)", winograd_f7 = "winograd F(7x7,3x3)",
            winograd_f8 = "winograd F(8x8,3x3)", direct = "direct (scalar reference)",
            im2col = "im2col per image", im2col_batched = "im2col batched",
        }
        if scalar then expect.auto, expect.im2col, expect.im2col_batched = "direct (scalar reference)",
            "direct (scalar reference)", "direct (scalar reference)" end
        for alg, want in pairs(expect) do
            local got = with_conv_algorithm(alg, name, 1)
            assert.are.equal(want, got, alg)
        end
        for _, alg in ipairs{"winograd", "winograd_f2", "winograd_f4", "winograd_f7", "winograd_f8"} do
            assert.are.equal(name(1, 1), with_conv_algorithm(alg, name, 1, 1), alg .. " on a 1x1 conv")
        end
        assert.are.equal(0, NVP.nvp_get_conv_algorithm())
    end)
    it("refuses a value that is no nvp_conv_algorithm, keeping the current one", function()
        assert.are.equal(1, NVP.nvp_set_conv_algorithm(9))
        assert.are.equal("nvp_set_conv_algorithm: algorithm = 9 is not an nvp_conv_algorithm", nffi.last_error())
        assert.are.equal(1, NVP.nvp_set_conv_algorithm(-1))
        assert.are.equal(0, NVP.nvp_get_conv_algorithm())
    end)
end)

describe("winograd argument errors (the conv entries' checks, whichever algorithm runs)", function()
    local x, w, y = T.zeros{2 * 3 * 5 * 7}, T.zeros{5 * 3 * 9}, T.zeros{2 * 5 * 5 * 7}
    for _, suffix in ipairs(kernel_suffixes()) do
        it("nvp_winograd_forward" .. suffix .. " names a negative size and a NULL operand", function()
            local f = conv_entry("nvp_winograd_forward" .. suffix)
            assert.are.equal(1, f(y.data, x.data, w.data, nil, 2, -3, 5, 5, 7, 2, 0))
            assert.are.equal("nvp_conv2d_forward: cin = -3 is negative", nffi.last_error())
            assert.are.equal(1, f(y.data, nil, w.data, nil, 2, 3, 5, 5, 7, 4, 0))
            assert.are.equal("nvp_conv2d_forward: x (2,3,5,7) is NULL", nffi.last_error())
            local fadd = conv_entry("nvp_winograd_forward_add" .. suffix)
            assert.are.equal(1, fadd(y.data, y.data, nil, w.data, nil, 2, 3, 5, 5, 7, 2))
            assert.are.equal("nvp_conv2d_forward: x (2,3,5,7) is NULL", nffi.last_error())
        end)
        it("nvp_winograd_backward" .. suffix .. " names a missing input", function()
            local f = conv_entry("nvp_winograd_backward" .. suffix)
            assert.are.equal(1, f(nil, w.data, nil, y.data, nil, w.data, 2, 3, 5, 5, 7, 2, 1))
            assert.are.equal("nvp_conv2d_backward: x (2,3,5,7) is NULL", nffi.last_error())
            assert.are.equal(1, f(x.data, nil, nil, y.data, x.data, nil, 2, 3, 5, 5, 7, 4, 1))
            assert.are.equal("nvp_conv2d_backward: w (5,3,3,3) is NULL", nffi.last_error())
        end)
    end
    it("empty batches and zero input channels are fine (y = bias)", function()
        local b = T.from_table{1, 2}
        for _, suffix in ipairs(kernel_suffixes()) do
            local yy = T.full({1, 2, 2, 2}, 0 / 0)
            assert.are.equal(0, conv_entry("nvp_winograd_forward" .. suffix)(nil, nil, nil, nil, 0, 3, 5, 5, 7, 2, 0))
            assert.are.equal(0, conv_entry("nvp_winograd_forward" .. suffix)(yy.data, nil, nil, b.data, 1, 0, 2, 2, 2, 4, 0))
            assert.are.same({1, 1, 1, 1, 2, 2, 2, 2}, yy:to_table())
        end
    end)
end)
