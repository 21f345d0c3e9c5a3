-- Synchronised batch norm in steps (moments, finish_stats, forward_eval; backward_sums,
-- backward_apply): with one part they give the fused kernels' numbers; with a batch cut in parts
-- whose sums are added (what the allreduce between the steps does over ranks) they give the fused
-- kernels on the whole batch, log-det gradient included; the AVX2 twins against the references.
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local EPS, MOM = 1e-5, 0.1

local function inputs(n, c, hw, seed)
    local r = spec_rng(seed)
    local x = r:normal(T.empty{n, c, hw}, 0.3, 1.7)
    local gamma, beta = T.empty{c}, r:normal(T.empty{c}, 0, 0.5)
    for ch = 0, c - 1 do gamma.data[ch] = (ch % 2 == 0 and 1 or -1) * (0.5 + r:random()) end
    return x, gamma, beta
end

local function doubles(n) return ffi.new("double[?]", n) end
local function as_list(p, n)
    local out = {}
    for i = 0, n - 1 do out[i + 1] = p[i] end
    return out
end

-- Images [first, first + count) of x: (N, C, HW), as a view.
local function part(x, first, count)
    return x:narrow(first + 1, count)
end

-- The training forward in steps over parts {{first, count}, ...} of the batch (all ranks' sums
-- added, as the allreduce does). suffix "" (dispatch), "_ref" or "_avx2". Returns y (whole batch),
-- mean, invstd, running_mean, running_var.
local function forward_steps(suffix, x, gamma, beta, parts, c, hw, relu)
    local n = x.shape[1]
    local sum, part_sum = doubles(c), doubles(c)
    local moments = kernel("nvp_batchnorm_moments" .. suffix)
    local m = 0
    for ch = 0, c - 1 do sum[ch] = 0 end
    for _, p in ipairs(parts) do
        assert.are.equal(0, moments(part_sum, nil, part(x, p[1], p[2]).data, nil, p[2], c, hw))
        for ch = 0, c - 1 do sum[ch] = sum[ch] + part_sum[ch] end
        m = m + p[2] * hw
    end
    local mean_d, sumsq = doubles(c), doubles(c)
    for ch = 0, c - 1 do mean_d[ch], sumsq[ch] = sum[ch] / m, 0 end
    for _, p in ipairs(parts) do
        assert.are.equal(0, moments(nil, part_sum, part(x, p[1], p[2]).data, mean_d, p[2], c, hw))
        for ch = 0, c - 1 do sumsq[ch] = sumsq[ch] + part_sum[ch] end
    end
    local mean, invstd = T.empty{c}, T.empty{c}
    local rm, rv = spec_rng(2):normal(T.empty{c}), spec_rng(3):uniform(T.empty{c}, 0.5, 2)
    assert.are.equal(0, NVP.nvp_batchnorm_finish_stats(mean.data, invstd.data, rm.data, rv.data, mean_d, sumsq, m,
        c, EPS, MOM))
    local y = T.empty{n, c, hw}
    assert.are.equal(0, kernel("nvp_batchnorm_forward_eval" .. suffix)(y.data, x.data, gamma.data, beta.data, mean.data,
        invstd.data, n, c, hw, relu))
    return y, mean, invstd, rm, rv
end

local function forward_fused(suffix, x, gamma, beta, c, hw, relu)
    local n = x.shape[1]
    local y, mean, invstd = T.empty{n, c, hw}, T.empty{c}, T.empty{c}
    local rm, rv = spec_rng(2):normal(T.empty{c}), spec_rng(3):uniform(T.empty{c}, 0.5, 2)
    assert.are.equal(0, kernel("nvp_batchnorm_forward_train" .. suffix)(y.data, mean.data, invstd.data, rm.data, rv.data,
        x.data, gamma.data, beta.data, n, c, hw, EPS, MOM, relu))
    return y, mean, invstd, rm, rv
end

-- The training backward in steps over parts: every part's sums, their total, then each part's apply.
local function backward_steps(suffix, dx, dg, db, dy, x, gamma, beta, mean, invstd, parts, c, hw, relu, dlogdet)
    local locals, total = {}, doubles(2 * c)
    for k = 0, 2 * c - 1 do total[k] = 0 end
    local m = 0
    for i, p in ipairs(parts) do
        locals[i] = doubles(2 * c)
        assert.are.equal(0, kernel("nvp_batchnorm_backward_sums" .. suffix)(locals[i], part(dy, p[1], p[2]).data,
            part(x, p[1], p[2]).data, gamma.data, beta.data, mean.data, invstd.data, p[2], c, hw, relu))
        for k = 0, 2 * c - 1 do total[k] = total[k] + locals[i][k] end
        m = m + p[2] * hw
    end
    for i, p in ipairs(parts) do
        assert.are.equal(0, kernel("nvp_batchnorm_backward_apply" .. suffix)(part(dx, p[1], p[2]).data, dg.data, db.data,
            part(dy, p[1], p[2]).data, part(x, p[1], p[2]).data, gamma.data, beta.data, mean.data, invstd.data,
            locals[i], total, m, p[2], c, hw, relu, dlogdet))
    end
end

describe("batch norm in steps", function()
    for _, sz in ipairs{{4, 5, 7}, {2, 3, 9}, {6, 2, 29}} do
        local n, c, hw = sz[1], sz[2], sz[3]
        for relu = 0, 1 do
            local tag = ("(%d,%d,%d), relu %d"):format(n, c, hw, relu)
            it("with one part: exactly the fused reference at " .. tag, function()
                local x, gamma, beta = inputs(n, c, hw, n + c + hw)
                local got = {forward_steps("_ref", x, gamma, beta, {{0, n}}, c, hw, relu)}
                local want = {forward_fused("_ref", x, gamma, beta, c, hw, relu)}
                for k, what in ipairs{"y", "mean", "invstd", "running_mean", "running_var"} do
                    assert.are.equal(0, got[k]:max_abs_diff(want[k]), what)
                end
                local dy = spec_rng(9):normal(T.empty{n, c, hw})
                local dx1, dg1, db1 = spec_rng(3):normal(T.empty{n, c, hw}), T.zeros{c}, T.zeros{c}
                local dx2, dg2, db2 = dx1:clone(), T.zeros{c}, T.zeros{c}
                backward_steps("_ref", dx1, dg1, db1, dy, x, gamma, beta, want[2], want[3], {{0, n}}, c, hw, relu, 0.4)
                ON.scalar.nvp_batchnorm_backward(dx2.data, dg2.data, db2.data, dy.data, x.data, gamma.data, beta.data,
                    want[2].data, want[3].data, n, c, hw, relu, 0.4, 1, 1)
                assert.are.equal(0, dx1:max_abs_diff(dx2), "dx")
                assert.are.equal(0, dg1:max_abs_diff(dg2), "dgamma")
                assert.are.equal(0, db1:max_abs_diff(db2), "dbeta")
            end)
            it("with the batch cut in parts (ranks): the fused kernels on the whole batch at " .. tag, function()
                local x, gamma, beta = inputs(n, c, hw, 7 * n + c + hw)
                local parts = {{0, n / 2}, {n / 2, n / 2}}
                local got = {forward_steps("", x, gamma, beta, parts, c, hw, relu)}
                local want = {forward_fused("", x, gamma, beta, c, hw, relu)}
                for k, what in ipairs{"y", "mean", "invstd", "running_mean", "running_var"} do
                    assert_close(got[k], want[k], 1e-5, 1e-6, what)
                end
                local dy = spec_rng(9):normal(T.empty{n, c, hw})
                -- the flow layer's log-det coefficient is the same on every rank (minus 1/N of its batch)
                for _, dlogdet in ipairs{0, -0.3} do
                    local dx1, dg1, db1 = T.zeros{n, c, hw}, T.zeros{c}, T.zeros{c}
                    local dx2, dg2, db2 = T.zeros{n, c, hw}, T.zeros{c}, T.zeros{c}
                    -- each rank's dlogdet term counts its own values; over both, the whole batch's
                    backward_steps("", dx1, dg1, db1, dy, x, gamma, beta, want[2], want[3], parts, c, hw, relu, dlogdet)
                    NVP.nvp_batchnorm_backward(dx2.data, dg2.data, db2.data, dy.data, x.data, gamma.data, beta.data,
                        want[2].data, want[3].data, n, c, hw, relu, dlogdet, 1, 1)
                    assert_close(dx1, dx2, 1e-4, 1e-5, "dx, dlogdet " .. dlogdet)
                    assert_close(dg1, dg2, 1e-5, 1e-5, "dgamma, dlogdet " .. dlogdet)
                    assert_close(db1, db2, 1e-5, 1e-5, "dbeta, dlogdet " .. dlogdet)
                end
            end)
        end
    end

    it("refuses bad arguments, naming them", function()
        local x, gamma, beta = inputs(2, 3, 4, 1)
        local s, mean, invstd = doubles(6), T.zeros{3}, T.full({3}, 1)
        assert.are.equal(1, NVP.nvp_batchnorm_moments(nil, nil, x.data, nil, 2, 3, 4))
        assert.are.equal("nvp_batchnorm_moments: sum and sumsq are both NULL", nffi.last_error())
        assert.are.equal(2, NVP.nvp_batchnorm_finish_stats(mean.data, invstd.data, nil, nil, s, s, 1, 3, EPS, MOM))
        assert.are.equal("nvp_batchnorm_finish_stats: 1 value(s) per channel over all ranks; batch statistics need "
            .. "at least 2", nffi.last_error())
        assert.are.equal(1, NVP.nvp_batchnorm_backward_sums(nil, x.data, x.data, gamma.data, beta.data, mean.data,
            invstd.data, 2, 3, 4, 0))
        assert.are.equal("nvp_batchnorm_backward_sums: the output is NULL", nffi.last_error())
        local dx = T.zeros{2, 3, 4}
        assert.are.equal(1, NVP.nvp_batchnorm_backward_apply(dx.data, nil, nil, x.data, x.data, gamma.data, beta.data,
            mean.data, invstd.data, s, s, 7, 2, 3, 4, 0, 0))
        assert.are.equal("nvp_batchnorm_backward_apply: m_total = 7 is less than this rank's 8 values per channel",
            nffi.last_error())
    end)
end)

describe("batch norm in steps: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    for _, sz in ipairs{{3, 5, 7}, {2, 3, 8}, {4, 2, 69}, {1, 3, 2}, {4, 4, 196}} do
        local n, c, hw = sz[1], sz[2], sz[3]
        for relu = 0, 1 do
            it(("moments, backward sums and apply at (%d,%d,%d), relu %d"):format(n, c, hw, relu), function()
                local x, gamma, beta = inputs(n, c, hw, n * c + hw + relu)
                local center = doubles(c)
                for ch = 0, c - 1 do center[ch] = 0.1 * ch - 0.2 end
                local s1, q1, s2, q2 = doubles(c), doubles(c), doubles(c), doubles(c)
                ON.scalar.nvp_batchnorm_moments(s1, q1, x.data, center, n, c, hw)
                ON.avx2.nvp_batchnorm_moments(s2, q2, x.data, center, n, c, hw)
                assert_close(as_list(s2, c), as_list(s1, c), 1e-12, 1e-12, "sum")
                assert_close(as_list(q2, c), as_list(q1, c), 1e-12, 1e-12, "sumsq")
                local _, mean, invstd = forward_fused("_ref", x, gamma, beta, c, hw, relu)
                local dy = spec_rng(9):normal(T.empty{n, c, hw})
                local b1, b2 = doubles(2 * c), doubles(2 * c)
                ON.scalar.nvp_batchnorm_backward_sums(b1, dy.data, x.data, gamma.data, beta.data, mean.data,
                    invstd.data, n, c, hw, relu)
                ON.avx2.nvp_batchnorm_backward_sums(b2, dy.data, x.data, gamma.data, beta.data, mean.data,
                    invstd.data, n, c, hw, relu)
                assert_close(as_list(b2, 2 * c), as_list(b1, 2 * c), 1e-6, 1e-6, "backward sums")
                local total = doubles(2 * c)
                for k = 0, 2 * c - 1 do total[k] = 3 * b1[k] end -- as if two more ranks had the same sums
                local dx1, dg1, db1 = spec_rng(3):normal(T.empty{n, c, hw}), T.zeros{c}, T.zeros{c}
                local dx2, dg2, db2 = dx1:clone(), T.zeros{c}, T.zeros{c}
                ON.scalar.nvp_batchnorm_backward_apply(dx1.data, dg1.data, db1.data, dy.data, x.data, gamma.data,
                    beta.data, mean.data, invstd.data, b1, total, 3 * n * hw, n, c, hw, relu, 0.25)
                ON.avx2.nvp_batchnorm_backward_apply(dx2.data, dg2.data, db2.data, dy.data, x.data, gamma.data,
                    beta.data, mean.data, invstd.data, b1, total, 3 * n * hw, n, c, hw, relu, 0.25)
                assert_close(dx2, dx1, 1e-4, 1e-5, "dx")
                assert_close(dg2, dg1, 1e-6, 1e-6, "dgamma")
                assert_close(db2, db1, 1e-6, 1e-6, "dbeta")
            end)
        end
    end
end)
