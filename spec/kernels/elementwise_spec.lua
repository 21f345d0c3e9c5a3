-- The AVX2 element-wise kernels against their scalar references, on ragged sizes.
local T = require "nvp.tensor"

local function pair(n, seed)
    local g = spec_rng(seed)
    return g:normal(T.empty{n}), g:normal(T.empty{n})
end

describe("element-wise kernels: avx2 == ref", function()
    if NVP.nvp_cpu_has_avx2() == 0 then
        pending("this CPU has no AVX2")
        return
    end
    for _, n in ipairs{0, 1, 7, 8, 9, 31, 1000, 40003} do
        it("add/mul/axpy/scale at n = " .. n, function()
            local a, b = pair(n, n)
            local r, v = T.empty{n}, T.empty{n}
            for _, op in ipairs{"add", "mul"} do
                NVP["nvp_" .. op .. "_ref"](r.data, a.data, b.data, n)
                NVP["nvp_" .. op .. "_avx2"](v.data, a.data, b.data, n)
                assert.are.equal(0, r:max_abs_diff(v), op)
            end
            r:copy(a); v:copy(a)
            NVP.nvp_axpy_ref(r.data, 0.7, b.data, n)
            NVP.nvp_axpy_avx2(v.data, 0.7, b.data, n)
            assert_close(v, r, 1e-6, 1e-6, "axpy")
            NVP.nvp_scale_ref(r.data, a.data, -1.5, 0.25, n)
            NVP.nvp_scale_avx2(v.data, a.data, -1.5, 0.25, n)
            assert_close(v, r, 1e-6, 1e-6, "scale")
        end)

        it("sum at n = " .. n, function()
            local a = pair(n, n + 1)
            local r, v = require("ffi").new("double[2]"), require("ffi").new("double[2]")
            NVP.nvp_sum_ref(r, r + 1, a.data, n)
            NVP.nvp_sum_avx2(v, v + 1, a.data, n)
            assert_close(v[0], r[0], 1e-12, 1e-9, "sum")
            assert_close(v[1], r[1], 1e-12, 1e-9, "sumsq")
        end)
    end

    it("refuses a negative size with a message naming it", function()
        assert.are.equal(1, NVP.nvp_add_ref(nil, nil, nil, -3))
        assert.matches("nvp_add: n = %-3 is negative", require("nvp.ffi").last_error())
    end)
end)
