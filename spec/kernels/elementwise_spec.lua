-- The AVX2 element-wise kernels against their scalar references, on ragged sizes.
local T = require "nvp.tensor"

local function pair(n, seed)
    local g = spec_rng(seed)
    return g:normal(T.empty{n}), g:normal(T.empty{n})
end

describe("element-wise kernels: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    for _, n in ipairs{0, 1, 7, 8, 9, 31, 1000, 40003} do
        it("add/mul/axpy/scale at n = " .. n, function()
            local a, b = pair(n, n)
            local r, v = T.empty{n}, T.empty{n}
            for _, op in ipairs{"add", "mul"} do
                ON.scalar["nvp_" .. op](r.data, a.data, b.data, n)
                ON.avx2["nvp_" .. op](v.data, a.data, b.data, n)
                assert.are.equal(0, r:max_abs_diff(v), op)
            end
            r:copy(a); v:copy(a)
            ON.scalar.nvp_axpy(r.data, 0.7, b.data, n)
            ON.avx2.nvp_axpy(v.data, 0.7, b.data, n)
            assert_close(v, r, 1e-6, 1e-6, "axpy")
            ON.scalar.nvp_scale(r.data, a.data, -1.5, 0.25, n)
            ON.avx2.nvp_scale(v.data, a.data, -1.5, 0.25, n)
            assert_close(v, r, 1e-6, 1e-6, "scale")
        end)

        it("sum at n = " .. n, function()
            local a = pair(n, n + 1)
            local r, v = require("ffi").new("double[2]"), require("ffi").new("double[2]")
            ON.scalar.nvp_sum(r, r + 1, a.data, n)
            ON.avx2.nvp_sum(v, v + 1, a.data, n)
            assert_close(v[0], r[0], 1e-12, 1e-9, "sum")
            assert_close(v[1], r[1], 1e-12, 1e-9, "sumsq")
        end)
    end

    it("refuses a negative size with a message naming it", function()
        assert.are.equal(1, ON.scalar.nvp_add(nil, nil, nil, -3))
        assert.matches("nvp_add: n = %-3 is negative", require("nvp.ffi").last_error())
    end)
end)

describe("nvp_copy and nvp_fill (tensor copies and zero fills)", function()
    local nffi = require "nvp.ffi"
    -- 1 << 20 floats is where they split over the threads: sizes on both sides and a ragged one
    for _, n in ipairs{0, 1, 1000, 1048575, 1048576, 1048576 * 3 + 7} do
        it("copies and fills every element at n = " .. n, function()
            local g = spec_rng(n % 1000 + 1)
            local src = g:normal(T.empty{math.max(n, 1)})
            local dst = T.full({math.max(n, 1) + 1}, 7) -- one guard element past the end
            assert.are.equal(0, NVP.nvp_copy(dst.data, src.data, n))
            for _, i in ipairs{0, math.floor(n / 2), n - 1} do
                if n > 0 then assert.are.equal(src.data[i], dst.data[i]) end
            end
            local same = true
            for i = 0, n - 1 do
                if dst.data[i] ~= src.data[i] then same = false break end
            end
            assert.is_true(same, "every element copied")
            assert.are.equal(7, dst.data[n], "nothing written past n")
            assert.are.equal(0, NVP.nvp_fill(dst.data, 0, n))
            local zeros = true
            for i = 0, n - 1 do
                if dst.data[i] ~= 0 then zeros = false break end
            end
            assert.is_true(zeros, "every element zeroed")
            assert.are.equal(7, dst.data[n], "nothing filled past n")
            assert.are.equal(0, NVP.nvp_fill(dst.data, -2.5, n))
            if n > 0 then assert.are.equal(-2.5, dst.data[n - 1]) end
        end)
    end

    it("refuses overlapping buffers, naming the call", function()
        local t = T.zeros{100}
        assert.are.equal(1, NVP.nvp_copy(t.data + 10, t.data, 50))
        assert.are.equal("nvp_copy: y and x overlap (n = 50)", nffi.last_error())
        assert.are.equal(0, NVP.nvp_copy(t.data + 50, t.data, 50)) -- adjacent, not overlapping
    end)
end)
