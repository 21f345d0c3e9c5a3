-- nvp_gemm (OpenBLAS, or the reference on the scalar path) and nvp_gemm_small on every CPU path against a
-- double-precision Lua GEMM: all four transpose combinations, padded row strides, alpha and beta.
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local NaN = 0 / 0

-- A (rows, ld) buffer whose first `cols` columns are random and whose padding is NaN.
local function padded(rows, cols, ld, g)
    local t = T.empty{math.max(rows * ld, 1)}
    g:normal(t)
    for r = 0, rows - 1 do
        for c = cols, ld - 1 do t.data[r * ld + c] = NaN end
    end
    return t
end

-- Lua reference: C = alpha op(A) op(B) + beta C0 (beta == 0 ignores C0), returned as a table.
local function lua_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc)
    local out = {}
    for i = 0, m - 1 do
        for j = 0, n - 1 do
            local s = 0
            for p = 0, k - 1 do
                local av = ta == 1 and a[p * lda + i] or a[i * lda + p]
                local bv = tb == 1 and b[j * ldb + p] or b[p * ldb + j]
                s = s + av * bv
            end
            local v = alpha * s
            if beta ~= 0 then v = v + beta * c0[i * ldc + j] end
            out[#out + 1] = v
        end
    end
    return out
end

-- Runs call(a, lda, b, ldb, c, ldc) -> status on padded random operands and checks C against the Lua
-- GEMM (alpha, beta), with beta = 0's C full of NaN garbage and C's padding never written.
local function check_product(call, label, ta, tb, m, n, k, alpha, beta, seed)
    local g = spec_rng(seed)
    local arows, acols = (ta == 1) and k or m, (ta == 1) and m or k
    local brows, bcols = (tb == 1) and n or k, (tb == 1) and k or n
    local lda, ldb, ldc = acols + 3, bcols + 5, n + 2
    local a, b = padded(arows, acols, lda, g), padded(brows, bcols, ldb, g)
    local c = padded(m, n, ldc, g)
    if beta == 0 then c:fill(NaN) end -- garbage that beta = 0 must not read
    local c0 = c:clone()
    local expect = lua_gemm(ta, tb, m, n, k, alpha, a.data, lda, b.data, ldb, beta, c0.data, ldc)
    assert.are.equal(0, call(a.data, lda, b.data, ldb, c.data, ldc), nffi.last_error())
    local got = {}
    for i = 0, m - 1 do
        for j = 0, n - 1 do got[#got + 1] = c.data[i * ldc + j] end
        for j = n, ldc - 1 do -- the padding of C is never touched
            local before, after = c0.data[i * ldc + j], c.data[i * ldc + j]
            assert(before ~= before and after ~= after or before == after, "C padding was written")
        end
    end
    assert_close(got, expect, 1e-5, 1e-5, label)
end

-- "nvp_gemm@avx2": the public entry nvp_gemm run on that CPU path (nvp_set_cpu_path).
local function named(fname)
    local name, path = fname:match("^(.-)@(.*)$")
    return ON[path][name]
end

local function check_gemm(fname, ta, tb, m, n, k, alpha, beta, seed)
    check_product(function(a, lda, b, ldb, c, ldc)
        return named(fname)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    end, ("%s ta=%d tb=%d (%d,%d,%d) alpha=%g beta=%g"):format(fname, ta, tb, m, n, k, alpha, beta),
        ta, tb, m, n, k, alpha, beta, seed)
end

-- the scalar reference, and OpenBLAS (the same on the avx2 and avx512 paths)
local gemm_fns = {"nvp_gemm@scalar"}
if NVP.nvp_cpu_supports("avx2") == 1 then gemm_fns[#gemm_fns + 1] = "nvp_gemm@avx2" end
for _, fname in ipairs(gemm_fns) do
    describe(fname, function()
        for _, shape in ipairs{{5, 7, 3}, {1, 1, 1}, {33, 17, 45}, {9, 70, 13}} do
            local m, n, k = shape[1], shape[2], shape[3]
            it(("all four transposes at (m,n,k) = (%d,%d,%d)"):format(m, n, k), function()
                local seed = m * 1000 + n * 10 + k
                for ta = 0, 1 do
                    for tb = 0, 1 do
                        check_gemm(fname, ta, tb, m, n, k, 1.0, 0.0, seed)
                        check_gemm(fname, ta, tb, m, n, k, -0.5, 1.0, seed + 1)
                        check_gemm(fname, ta, tb, m, n, k, 2.0, 0.25, seed + 2)
                    end
                end
            end)
        end

        it("alpha = 0 or k = 0 only scales C by beta (and beta = 0 zeroes NaN garbage)", function()
            check_gemm(fname, 0, 0, 4, 6, 5, 0.0, 0.5, 11)
            check_gemm(fname, 1, 1, 4, 6, 5, 0.0, 0.0, 12)
            check_gemm(fname, 0, 1, 4, 6, 0, 1.0, 0.0, 13)
            check_gemm(fname, 1, 0, 4, 6, 0, 1.0, 3.0, 14)
        end)

        it("accepts empty m or n without touching pointers", function()
            assert.are.equal(0, named(fname)(0, 0, 0, 5, 3, 1.0, nil, 3, nil, 5, 0.0, nil, 5))
            assert.are.equal(0, named(fname)(0, 0, 4, 0, 3, 1.0, nil, 3, nil, 1, 0.0, nil, 1))
        end)

        it("refuses negative sizes, short row strides and NULL operands, naming them", function()
            local a, b, c = T.zeros{64}, T.zeros{64}, T.zeros{64}
            assert.are.equal(1, named(fname)(0, 0, -1, 2, 2, 1.0, a.data, 2, b.data, 2, 0.0, c.data, 2))
            assert.are.equal("nvp_gemm: m = -1 is negative", nffi.last_error())
            assert.are.equal(1, named(fname)(0, 0, 5, 4, 3, 1.0, a.data, 2, b.data, 4, 0.0, c.data, 4))
            assert.are.equal("nvp_gemm: lda = 2 < 3, the row length of A (5,3) (trans_a = 0)", nffi.last_error())
            assert.are.equal(1, named(fname)(1, 1, 5, 4, 3, 1.0, a.data, 5, b.data, 2, 0.0, c.data, 4))
            assert.matches("ldb = 2 < 3", nffi.last_error())
            assert.are.equal(1, named(fname)(0, 0, 5, 4, 3, 1.0, a.data, 3, b.data, 4, 0.0, c.data, 3))
            assert.matches("ldc = 3 < 4", nffi.last_error())
            assert.are.equal(1, named(fname)(0, 0, 5, 4, 3, 1.0, nil, 3, b.data, 4, 0.0, c.data, 4))
            assert.are.equal("nvp_gemm: a is NULL", nffi.last_error())
        end)
    end)
end

describe("nvp_gemm at a conv-sized shape", function()
    it("agrees with nvp_gemm_ref (64 x 1000 x 576, B transposed)", function()
        local g = spec_rng(5)
        local m, n, k = 64, 1000, 576
        local a, b = g:normal(T.empty{m * k}), g:normal(T.empty{n * k})
        local c1, c2 = T.zeros{m * n}, T.zeros{m * n}
        assert.are.equal(0, NVP.nvp_gemm(0, 1, m, n, k, 1.0, a.data, k, b.data, k, 0.0, c1.data, n))
        assert.are.equal(0, ON.scalar.nvp_gemm(0, 1, m, n, k, 1.0, a.data, k, b.data, k, 0.0, c2.data, n))
        assert_close(c1, c2, 1e-4, 1e-4, "gemm vs ref")
    end)
end)

-- nvp_gemm_small: the single-thread products of the Winograd tiles and 1x1 convs. Its AVX2 kernels
-- (6 x 16 blocks, 8-column and ragged last panels, K in blocks of 256, A * B^T by 8 x 8 transposes)
-- and AVX-512 kernels (8 x 32 blocks for A * B, 4 x 4 dot-product blocks for A * B^T, masked column
-- and k tails, clamped row tails) against the Lua GEMM on shapes that are ragged for every block size.
local function check_small(fname, ta, tb, m, n, k, accumulate, seed)
    check_product(function(a, lda, b, ldb, c, ldc)
        return named(fname)(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc)
    end, ("%s ta=%d tb=%d (%d,%d,%d) accumulate=%d"):format(fname, ta, tb, m, n, k, accumulate),
        ta, tb, m, n, k, 1.0, accumulate, seed)
end

-- the scalar reference, the AVX2 and the AVX-512 kernels
local small_fns = {}
for _, path in ipairs(cpu_paths()) do small_fns[#small_fns + 1] = "nvp_gemm_small@" .. path end
for _, fname in ipairs(small_fns) do
    describe(fname, function()
        -- m around the 4-, 6- and 8-row blocks (AVX2: 6-row blocks ending in 4 + 4, a 4 or a 2; 32 =
        -- 6 x 4 + 4 + 4), n around 8-, 16- and 32-lane panels, k around 16-lane steps and the AVX2
        -- kernel's 256-deep K blocks
        local shapes = {{1, 1, 1}, {3, 5, 7}, {8, 32, 16}, {9, 33, 17}, {7, 47, 31}, {12, 16, 64}, {17, 70, 5},
                        {13, 3, 40}, {6, 100, 0}, {7, 24, 300}, {5, 9, 257}, {19, 8, 3}, {32, 18, 33}, {10, 16, 9}}
        for _, s in ipairs(shapes) do
            local m, n, k = s[1], s[2], s[3]
            it(("op(A) * op(B), C written or accumulated, at (m,n,k) = (%d,%d,%d)"):format(m, n, k), function()
                local seed = 7000 + m * 1000 + n * 10 + k
                for ta = 0, 1 do
                    for tb = 0, 1 do
                        check_small(fname, ta, tb, m, n, k, 0, seed)
                        check_small(fname, ta, tb, m, n, k, 1, seed + 1)
                    end
                end
            end)
        end

        it("refuses a short row stride, naming it", function()
            local a, b, c = T.zeros{64}, T.zeros{64}, T.zeros{64}
            assert.are.equal(1, named(fname)(0, 0, 5, 4, 3, a.data, 2, b.data, 4, 0, c.data, 4))
            assert.matches("lda = 2 < 3", nffi.last_error())
        end)
    end)
end

-- each vector path at the networks' sizes (the AVX-512 A * B^T by transpose at K = 512 and by dot
-- products at K = 1030; the AVX2 one always by transpose, in 256-deep K blocks), and B's rows at
-- strides that alias in L1)
for _, path in ipairs{"avx2", "avx512"} do
    describe("nvp_gemm_small on the " .. path .. " path", function()
        it("agrees with the reference at the Winograd and 1x1 shapes", function()
            if NVP.nvp_cpu_supports(path) == 0 then
                pending("this CPU has no " .. path)
                return
            end
            local g = spec_rng(9)
            -- s[6]: B's row stride when not n: 1 KB and 4 KB rows (a 16x16 and a 32x32 plane, the 1x1
            -- convs' B), whose panels the AVX2 kernel copies out (ragged last panels, a second K block)
            for _, s in ipairs{{0, 0, 128, 200, 128}, {1, 0, 64, 1024, 64}, {0, 1, 64, 64, 512}, {0, 1, 20, 24, 1030},
                               {0, 0, 64, 256, 128, 256}, {1, 0, 128, 1024, 64, 1024}, {0, 0, 13, 37, 300, 256},
                               {0, 0, 7, 45, 40, 1024}} do
                local ta, tb, m, n, k = s[1], s[2], s[3], s[4], s[5]
                local lda, ldb = ta == 1 and m or k, s[6] or (tb == 1 and k or n)
                local a, b = g:normal(T.empty{m * k}), g:normal(T.empty{math.max(n, ldb) * k})
                local c1, c2 = T.zeros{m * n}, T.zeros{m * n}
                assert.are.equal(0, ON[path].nvp_gemm_small(ta, tb, m, n, k, a.data, lda, b.data, ldb, 0, c1.data, n))
                assert.are.equal(0, ON.scalar.nvp_gemm_small(ta, tb, m, n, k, a.data, lda, b.data, ldb, 0, c2.data, n))
                assert_close(c1, c2, 1e-4, 1e-4, ("small %s vs ref ta=%d tb=%d (%d,%d,%d)"):format(path, ta, tb, m, n, k))
            end
        end)
    end)
end
