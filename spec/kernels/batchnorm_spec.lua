-- Batch normalisation over (N, HW) per channel, fused ReLU, flow log-det gradient: the references
-- against a double-precision Lua implementation and finite differences of the total loss
--   sum(dy * y) + dlogdet * N * HW * sum_c (log invstd_c + log|gamma_c|),
-- running statistics, the inverse, thread-count independence, and the AVX2 twins.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local EPS, MOM = 1e-5, 0.1

local tab, list = spec_doubles, spec_list

-- The forward in double. stats = {mean=, invstd=} (0-based) for evaluation, nil for batch statistics.
-- Returns y, mean, invstd, biased var (0-based tables).
local function bn_ref(x, gamma, beta, n, c, hw, relu, stats)
    local y, mean, invstd, var = {}, {}, {}, {}
    local m = n * hw
    for ch = 0, c - 1 do
        local mu, is
        if stats then
            mu, is = stats.mean[ch], stats.invstd[ch]
        else
            local s, q = 0, 0
            for i = 0, n - 1 do
                for j = 0, hw - 1 do s = s + x[(i * c + ch) * hw + j] end
            end
            mu = s / m
            for i = 0, n - 1 do
                for j = 0, hw - 1 do q = q + (x[(i * c + ch) * hw + j] - mu) ^ 2 end
            end
            var[ch] = q / m
            is = 1 / math.sqrt(q / m + EPS)
        end
        mean[ch], invstd[ch] = mu, is
        for i = 0, n - 1 do
            for j = 0, hw - 1 do
                local k = (i * c + ch) * hw + j
                local v = (x[k] - mu) * is * gamma[ch] + beta[ch]
                if relu == 1 and v < 0 then v = 0 end
                y[k] = v
            end
        end
    end
    return y, mean, invstd, var
end

local function inputs(n, c, hw, seed)
    local r = spec_rng(seed)
    local x = r:normal(T.empty{n, c, hw}, 0.3, 1.7)
    local gamma, beta = T.empty{c}, r:normal(T.empty{c}, 0, 0.5)
    for ch = 0, c - 1 do gamma.data[ch] = (ch % 2 == 0 and 1 or -1) * (0.5 + r:random()) end
    return x, gamma, beta
end

local function train(fn, x, gamma, beta, n, c, hw, relu, rm, rv)
    local y, mean, invstd = T.empty{n, c, hw}, T.empty{c}, T.empty{c}
    assert.are.equal(0, kernel(fn)(y.data, mean.data, invstd.data, rm and rm.data, rv and rv.data, x.data,
        gamma.data, beta.data, n, c, hw, EPS, MOM, relu))
    return y, mean, invstd
end

describe("batch norm: reference", function()
    local shapes = {{3, 5, 7}, {2, 3, 1}, {1, 2, 9}, {4, 1, 13}}
    for _, sz in ipairs(shapes) do
        local n, c, hw = sz[1], sz[2], sz[3]
        local tag = ("(%d,%d,%d)"):format(n, c, hw)
        for relu = 0, 1 do
            it(("train and eval forward match a double-precision Lua reference at %s, relu %d"):format(tag, relu),
                function()
                    local x, gamma, beta = inputs(n, c, hw, n * 1000 + c * 10 + hw)
                    local rm, rv = spec_rng(2):normal(T.empty{c}), spec_rng(3):uniform(T.empty{c}, 0.5, 2)
                    local rm0, rv0 = tab(rm), tab(rv)
                    local y, mean, invstd = train("nvp_batchnorm_forward_train_ref", x, gamma, beta, n, c, hw,
                        relu, rm, rv)
                    local ey, em, eis, evar = bn_ref(tab(x), tab(gamma), tab(beta), n, c, hw, relu)
                    assert_close(y, list(ey, n * c * hw), 1e-5, 1e-5, "y")
                    assert_close(mean, list(em, c), 1e-6, 1e-6, "mean")
                    assert_close(invstd, list(eis, c), 1e-6, 0, "invstd")
                    local erm, erv, m = {}, {}, n * hw
                    for ch = 0, c - 1 do
                        erm[ch + 1] = (1 - MOM) * rm0[ch] + MOM * em[ch]
                        erv[ch + 1] = (1 - MOM) * rv0[ch] + MOM * evar[ch] * m / (m - 1)
                    end
                    assert_close(rm, erm, 1e-6, 1e-6, "running_mean")
                    assert_close(rv, erv, 1e-6, 1e-6, "running_var")
                    -- evaluation with the given statistics (here: from the running averages)
                    local es = {mean = tab(rm), invstd = {}}
                    local is = T.empty{c}
                    for ch = 0, c - 1 do
                        is.data[ch] = 1 / math.sqrt(rv.data[ch] + EPS)
                        es.invstd[ch] = is.data[ch]
                    end
                    local ye = T.empty{n, c, hw}
                    assert.are.equal(0, ON.scalar.nvp_batchnorm_forward_eval(ye.data, x.data, gamma.data,
                        beta.data, rm.data, is.data, n, c, hw, relu))
                    local eye = bn_ref(tab(x), tab(gamma), tab(beta), n, c, hw, relu, es)
                    assert_close(ye, list(eye, n * c * hw), 1e-5, 1e-5, "y (eval)")
                end)
        end

        for _, mode in ipairs{{1, 0, 0}, {1, 1, 0}, {1, 0, 0.37}, {1, 1, -0.8}, {0, 0, 0}, {0, 1, 0.6}} do
            local training, relu, dlogdet = mode[1], mode[2], mode[3]
            it(("backward == finite differences at %s, training %d, relu %d, dlogdet %g"):format(tag, training,
                relu, dlogdet), function()
                local x, gamma, beta = inputs(n, c, hw, n * 7 + c * 3 + hw + relu)
                local dy = spec_rng(11):normal(T.empty{n, c, hw})
                local mean, invstd, stats
                if training == 1 then
                    local _
                    _, mean, invstd = train("nvp_batchnorm_forward_train_ref", x, gamma, beta, n, c, hw, relu)
                else
                    mean, invstd = spec_rng(12):normal(T.empty{c}, 0, 0.3), spec_rng(13):uniform(T.empty{c}, 0.5, 1.5)
                    stats = {mean = tab(mean), invstd = tab(invstd)}
                end
                local dx0 = spec_rng(14):normal(T.empty{n, c, hw})
                local dg0, db0 = spec_rng(15):normal(T.empty{c}), spec_rng(16):normal(T.empty{c})
                local dx, dg, db = dx0:clone(), dg0:clone(), db0:clone()
                assert.are.equal(0, ON.scalar.nvp_batchnorm_backward(dx.data, dg.data, db.data, dy.data, x.data,
                    gamma.data, beta.data, mean.data, invstd.data, n, c, hw, relu, dlogdet, training, 1))
                local xt, gt, bt, dyt = tab(x), tab(gamma), tab(beta), tab(dy)
                local function loss()
                    local y, _, is = bn_ref(xt, gt, bt, n, c, hw, relu, stats)
                    local s = 0
                    for i = 0, n * c * hw - 1 do s = s + dyt[i] * y[i] end
                    for ch = 0, c - 1 do
                        s = s + dlogdet * n * hw * (math.log(is[ch]) + math.log(math.abs(gt[ch])))
                    end
                    return s
                end
                local ex, ax, eg, ag, eb, ab = {}, {}, {}, {}, {}, {}
                for i = 0, n * c * hw - 1 do
                    ex[i + 1] = numgrad(loss, xt, i, 1e-6)
                    ax[i + 1] = dx.data[i] - dx0.data[i]
                end
                for ch = 0, c - 1 do
                    eg[ch + 1], ag[ch + 1] = numgrad(loss, gt, ch, 1e-6), dg.data[ch] - dg0.data[ch]
                    eb[ch + 1], ab[ch + 1] = numgrad(loss, bt, ch, 1e-6), db.data[ch] - db0.data[ch]
                end
                assert_close(ax, ex, 2e-4, 2e-5, "dx")
                assert_close(ag, eg, 2e-4, 2e-5, "dgamma")
                assert_close(ab, eb, 2e-4, 2e-5, "dbeta")
                -- dgamma and dbeta are optional
                assert.are.equal(0, ON.scalar.nvp_batchnorm_backward(dx.data, nil, nil, dy.data, x.data,
                    gamma.data, beta.data, mean.data, invstd.data, n, c, hw, relu, dlogdet, training, 1))
            end)
        end

        it("inverse(eval forward) == identity at " .. tag, function()
            local x, gamma, beta = inputs(n, c, hw, 99)
            local mean, invstd = spec_rng(5):normal(T.empty{c}), spec_rng(6):uniform(T.empty{c}, 0.3, 3)
            local y, back = T.empty{n, c, hw}, T.empty{n, c, hw}
            assert.are.equal(0, NVP.nvp_batchnorm_forward_eval(y.data, x.data, gamma.data, beta.data, mean.data,
                invstd.data, n, c, hw, 0))
            assert.are.equal(0, NVP.nvp_batchnorm_inverse(back.data, y.data, gamma.data, beta.data, mean.data,
                invstd.data, n, c, hw))
            assert_close(back, x, 1e-5, 1e-5, "inverse")
        end)
    end

    it("y = NULL computes the statistics and running averages alone, on every path", function()
        local n, c, hw = 3, 5, 29
        local x, gamma, beta = inputs(n, c, hw, 17)
        for _, fn in ipairs{"nvp_batchnorm_forward_train_ref", "nvp_batchnorm_forward_train"} do
            local rm1, rv1 = T.zeros{c}, T.full({c}, 1)
            local rm2, rv2 = rm1:clone(), rv1:clone()
            local _, m1, s1 = train(fn, x, gamma, beta, n, c, hw, 1, rm1, rv1)
            local m2, s2 = T.empty{c}, T.empty{c}
            assert.are.equal(0, kernel(fn)(nil, m2.data, s2.data, rm2.data, rv2.data, x.data, gamma.data, beta.data, n,
                c, hw, EPS, MOM, 1))
            for _, pair in ipairs{{m1, m2}, {s1, s2}, {rm1, rm2}, {rv1, rv2}} do
                assert.are.equal(0, pair[1]:max_abs_diff(pair[2]))
            end
        end
    end)

    it("running statistics are optional", function()
        local x, gamma, beta = inputs(3, 5, 7, 1)
        local y1 = train("nvp_batchnorm_forward_train", x, gamma, beta, 3, 5, 7, 0)
        local y2 = train("nvp_batchnorm_forward_train", x, gamma, beta, 3, 5, 7, 0, T.zeros{5}, T.zeros{5})
        assert.are.equal(0, y1:max_abs_diff(y2))
    end)

    it("does not depend on the thread count", function()
        local n, c, hw = 8, 16, 301 -- above the parallel threshold
        local x, gamma, beta = inputs(n, c, hw, 3)
        local dy = spec_rng(4):normal(T.empty{n, c, hw})
        local threads = NVP.nvp_get_threads()
        local function run()
            local y, mean, invstd = train("nvp_batchnorm_forward_train", x, gamma, beta, n, c, hw, 1)
            local dx, dg, db = T.zeros{n, c, hw}, T.zeros{c}, T.zeros{c}
            NVP.nvp_batchnorm_backward(dx.data, dg.data, db.data, dy.data, x.data, gamma.data, beta.data,
                mean.data, invstd.data, n, c, hw, 1, 0.5, 1, 1)
            return {y, mean, invstd, dx, dg, db}
        end
        NVP.nvp_set_threads(1)
        local one = run()
        NVP.nvp_set_threads(math.max(threads, 3))
        local many = run()
        NVP.nvp_set_threads(threads)
        for i = 1, #one do assert.are.equal(0, one[i]:max_abs_diff(many[i])) end
    end)

    it("refuses bad arguments with a message naming them", function()
        local x, gamma, beta = inputs(3, 5, 7, 1)
        local y, mean, invstd = T.empty{3, 5, 7}, T.empty{5}, T.empty{5}
        for _, fn in ipairs{"nvp_batchnorm_forward_train_ref", "nvp_batchnorm_forward_train_avx2"} do
            if fn:match("avx2") and NVP.nvp_cpu_supports("avx2") == 0 then break end
            assert.are.equal(2, kernel(fn)(y.data, mean.data, invstd.data, nil, nil, x.data, gamma.data,
                beta.data, 1, 5, 1, EPS, MOM, 0))
            assert.are.equal("nvp_batchnorm_forward_train: x (1,5,1) has 1 value(s) per channel; "
                .. "batch statistics need at least 2", nffi.last_error())
            assert.are.equal(1, kernel(fn)(y.data, mean.data, invstd.data, nil, nil, x.data, gamma.data,
                beta.data, 3, 5, 7, EPS, 1.5, 0))
            assert.are.equal("nvp_batchnorm_forward_train: momentum = 1.5 is not in [0, 1]", nffi.last_error())
            assert.are.equal(1, kernel(fn)(y.data, mean.data, invstd.data, nil, nil, x.data, gamma.data,
                beta.data, 3, 5, 7, -1, MOM, 0))
            assert.are.equal("nvp_batchnorm_forward_train: eps = -1 is not a finite value >= 0", nffi.last_error())
            assert.are.equal(1, kernel(fn)(y.data, nil, invstd.data, nil, nil, x.data, gamma.data,
                beta.data, 3, 5, 7, EPS, MOM, 0))
            assert.are.equal("nvp_batchnorm_forward_train: mean is NULL", nffi.last_error())
        end
        assert.are.equal(1, NVP.nvp_batchnorm_forward_eval(y.data, x.data, gamma.data, beta.data, mean.data,
            invstd.data, 3, 5, -7, 0))
        assert.are.equal("nvp_batchnorm_forward_eval: hw = -7 is negative", nffi.last_error())
        assert.are.equal(1, NVP.nvp_batchnorm_backward(nil, nil, nil, y.data, x.data, gamma.data, beta.data,
            mean.data, invstd.data, 3, 5, 7, 0, 0, 1, 1))
        assert.are.equal("nvp_batchnorm_backward: dx is NULL", nffi.last_error())
        local zero, one = T.zeros{5}, T.full({5}, 1)
        assert.are.equal(1, NVP.nvp_batchnorm_inverse(x.data, y.data, zero.data, beta.data, mean.data,
            one.data, 3, 5, 7))
        assert.are.equal("nvp_batchnorm_inverse: gamma[0]*invstd[0] = 0 is not invertible", nffi.last_error())
    end)
end)

describe("batch norm: avx2 == ref", function()
    if NVP.nvp_cpu_supports("avx2") == 0 then
        pending("this CPU has no AVX2")
        return
    end
    -- the AVX2 statistics are one pass of sums shifted by the channel's first value: a mean far from 0
    -- against a small spread, and a first value far from the mean, must not cost the variance digits
    it("statistics of offset and skewed channels", function()
        local n, c, hw = 4, 3, 37
        local x = spec_rng(5):normal(T.empty{n, c, hw}, 0, 2e-4) -- a few float ulps of 1000
        for i = 0, n * c * hw - 1 do x.data[i] = x.data[i] + 1000 end
        x.data[hw] = 1000.01 -- channel 1's first value 50 standard deviations out
        local gamma, beta = T.full({c}, 1), T.zeros{c}
        local rm1, rv1, rm2, rv2 = T.zeros{c}, T.full({c}, 1), T.zeros{c}, T.full({c}, 1)
        local _, m1, s1 = train("nvp_batchnorm_forward_train_ref", x, gamma, beta, n, c, hw, 0, rm1, rv1)
        local _, m2, s2 = train("nvp_batchnorm_forward_train_avx2", x, gamma, beta, n, c, hw, 0, rm2, rv2)
        assert_close(m2, m1, 1e-7, 0, "mean")
        assert_close(s2, s1, 1e-5, 0, "invstd")
        assert_close(rv2, rv1, 1e-5, 0, "running_var")
    end)
    for _, sz in ipairs{{3, 5, 7}, {2, 3, 8}, {2, 3, 29}, {4, 2, 69}, {1, 3, 2}, {5, 4, 196}} do
        local n, c, hw = sz[1], sz[2], sz[3]
        for relu = 0, 1 do
            it(("forward train/eval and backward at (%d,%d,%d), relu %d"):format(n, c, hw, relu), function()
                local x, gamma, beta = inputs(n, c, hw, n + c + hw + relu)
                local rm1, rv1 = spec_rng(1):normal(T.empty{c}), spec_rng(2):uniform(T.empty{c}, 0.5, 2)
                local rm2, rv2 = rm1:clone(), rv1:clone()
                local y1, m1, s1 = train("nvp_batchnorm_forward_train_ref", x, gamma, beta, n, c, hw, relu, rm1, rv1)
                local y2, m2, s2 = train("nvp_batchnorm_forward_train_avx2", x, gamma, beta, n, c, hw, relu, rm2, rv2)
                assert_close(y2, y1, 1e-5, 1e-5, "y")
                assert_close(m2, m1, 1e-6, 1e-7, "mean")
                assert_close(s2, s1, 1e-6, 0, "invstd")
                assert_close(rm2, rm1, 1e-6, 1e-7, "running_mean")
                assert_close(rv2, rv1, 1e-6, 1e-7, "running_var")
                local e1, e2 = T.empty{n, c, hw}, T.empty{n, c, hw}
                ON.scalar.nvp_batchnorm_forward_eval(e1.data, x.data, gamma.data, beta.data, rm1.data, s1.data, n, c,
                    hw, relu)
                ON.avx2.nvp_batchnorm_forward_eval(e2.data, x.data, gamma.data, beta.data, rm1.data, s1.data, n, c,
                    hw, relu)
                assert_close(e2, e1, 1e-5, 1e-5, "y (eval)")
                local dy = spec_rng(9):normal(T.empty{n, c, hw})
                for _, mode in ipairs{{1, 0}, {1, 0.4}, {0, 0}, {0, -0.3}} do
                    local training, dlogdet = mode[1], mode[2]
                    local dx1, dg1, db1 = spec_rng(3):normal(T.empty{n, c, hw}), T.zeros{c}, T.zeros{c}
                    local dx2, dg2, db2 = dx1:clone(), T.zeros{c}, T.zeros{c}
                    ON.scalar.nvp_batchnorm_backward(dx1.data, dg1.data, db1.data, dy.data, x.data, gamma.data,
                        beta.data, m1.data, s1.data, n, c, hw, relu, dlogdet, training, 1)
                    ON.avx2.nvp_batchnorm_backward(dx2.data, dg2.data, db2.data, dy.data, x.data, gamma.data,
                        beta.data, m1.data, s1.data, n, c, hw, relu, dlogdet, training, 1)
                    local what = (" (training %d, dlogdet %g)"):format(training, dlogdet)
                    assert_close(dx2, dx1, 1e-4, 1e-5, "dx" .. what)
                    assert_close(dg2, dg1, 1e-5, 1e-5, "dgamma" .. what)
                    assert_close(db2, db1, 1e-5, 1e-5, "dbeta" .. what)
                    -- accumulate_dx = 0 writes dx = the same gradient without reading dx (NaN before)
                    local dx0 = spec_rng(3):normal(T.empty{n, c, hw})
                    for _, fn in ipairs{"nvp_batchnorm_backward_ref", "nvp_batchnorm_backward_avx2"} do
                        local dxw = T.full({n, c, hw}, 0 / 0)
                        kernel(fn)(dxw.data, nil, nil, dy.data, x.data, gamma.data, beta.data, m1.data, s1.data, n, c,
                            hw, relu, dlogdet, training, 0)
                        assert_close(dxw:clone():axpy(1, dx0), dx1, 1e-4, 1e-5, "dx written by " .. fn .. what)
                    end
                end
            end)
        end
    end
end)
