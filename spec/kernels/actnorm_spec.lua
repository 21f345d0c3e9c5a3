-- Glow's actnorm kernels (nvp_actnorm_forward / inverse / backward / init): the public ops against a
-- double-precision Lua reference on ragged shapes (hw mod 8 != 0, so the AVX2 tails run), with and
-- without the fused ReLU; the scalar and vector paths against each other where the engine can switch
-- paths through nvp_set_cpu_path; thread-count independence; one-line errors.
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"

local SHAPES = {{1, 1, 1}, {2, 3, 7}, {3, 5, 17}, {4, 2, 64}, {2, 9, 33}}

local function inputs(n, c, hw, seed)
    local r = spec_rng(seed)
    local x = r:normal(T.empty{n, c, hw}, 0.4, 1.3)
    local logs, bias = r:normal(T.empty{c}, 0, 0.6), r:normal(T.empty{c}, 0, 0.8)
    local dy = r:normal(T.empty{n, c, hw})
    return x, logs, bias, dy
end

-- forward, and the backward's dx, dlogs, dbias, all in double
local function reference(x, logs, bias, dy, n, c, hw, relu)
    local y, dx, dl, db = {}, {}, {}, {}
    for ch = 0, c - 1 do
        local s, t = math.exp(logs.data[ch]), bias.data[ch]
        dl[ch], db[ch] = 0, 0
        for i = 0, n - 1 do
            for j = 0, hw - 1 do
                local k = (i * c + ch) * hw + j
                local v = (x.data[k] + t) * s
                local g = dy.data[k]
                if relu == 1 and v <= 0 then v, g = 0, 0 end
                y[k + 1] = v
                dx[k + 1] = g * s
                dl[ch] = dl[ch] + g * v
                db[ch] = db[ch] + g * s
            end
        end
    end
    return y, dx, spec_list(dl, c), spec_list(db, c)
end

local function run(x, logs, bias, dy, n, c, hw, relu)
    local y, xb, dx = T.empty{n, c, hw}, T.empty{n, c, hw}, T.full({n, c, hw}, 7)
    local dl, db = T.full({c}, 0.25), T.full({c}, -0.5) -- accumulated into
    nffi.check(NVP.nvp_actnorm_forward(y.data, x.data, logs.data, bias.data, n, c, hw, relu))
    nffi.check(NVP.nvp_actnorm_inverse(xb.data, y.data, logs.data, bias.data, n, c, hw))
    nffi.check(NVP.nvp_actnorm_backward(dx.data, dl.data, db.data, dy.data, x.data, logs.data, bias.data, n, c, hw,
        relu, 0))
    dl:scale(1, -0.25)
    db:scale(1, 0.5)
    return y, xb, dx, dl, db
end

local function set_path(name)
    nffi.check(NVP.nvp_set_cpu_path(name))
end

describe("actnorm kernels", function()
    for _, sh in ipairs(SHAPES) do
        local n, c, hw = sh[1], sh[2], sh[3]
        for relu = 0, 1 do
            it(("match the double reference at (%d,%d,%d), relu %d"):format(n, c, hw, relu), function()
                local x, logs, bias, dy = inputs(n, c, hw, n * 100 + c * 10 + hw + relu)
                local y, xb, dx, dl, db = run(x, logs, bias, dy, n, c, hw, relu)
                local ry, rdx, rdl, rdb = reference(x, logs, bias, dy, n, c, hw, relu)
                assert_close(y, ry, 1e-5, 1e-6, "y")
                assert_close(dx, rdx, 1e-5, 1e-6, "dx")
                assert_close(dl, rdl, 1e-4, 1e-4, "dlogs")
                assert_close(db, rdb, 1e-4, 1e-4, "dbias")
                if relu == 0 then assert_close(xb, x, 1e-5, 1e-5, "inverse(forward(x))") end
            end)
        end
    end

    it("accumulate_dx = 1 adds to dx; NULL gradients are skipped", function()
        local n, c, hw = 2, 3, 11
        local x, logs, bias, dy = inputs(n, c, hw, 5)
        local dx = T.full({n, c, hw}, 1)
        nffi.check(NVP.nvp_actnorm_backward(dx.data, nil, nil, dy.data, x.data, logs.data, bias.data, n, c, hw, 0, 1))
        local _, rdx = reference(x, logs, bias, dy, n, c, hw, 0)
        for i = 1, #rdx do rdx[i] = rdx[i] + 1 end
        assert_close(dx, rdx, 1e-5, 1e-6, "dx accumulated")
    end)

    it("init gives zero mean and unit standard deviation per channel", function()
        local n, c, hw = 3, 4, 13
        local x = inputs(n, c, hw, 9)
        local logs, bias, y = T.empty{c}, T.empty{c}, T.empty{n, c, hw}
        nffi.check(NVP.nvp_actnorm_init(logs.data, bias.data, x.data, n, c, hw, 1, 0))
        nffi.check(NVP.nvp_actnorm_forward(y.data, x.data, logs.data, bias.data, n, c, hw, 0))
        for ch = 0, c - 1 do
            local s, q = 0, 0
            for i = 0, n - 1 do
                for j = 0, hw - 1 do
                    local v = y.data[(i * c + ch) * hw + j]
                    s, q = s + v, q + v * v
                end
            end
            local m = s / (n * hw)
            assert_close(m, 0, 0, 1e-5, "mean of channel " .. ch)
            assert_close(math.sqrt(q / (n * hw) - m * m), 1, 1e-4, 0, "std of channel " .. ch)
        end
    end)

    it("scalar and vector paths agree", function()
        if NVP.nvp_cpu_supports("avx2") == 0 then pending("this CPU has no AVX2") return end
        local original = ffi.string(NVP.nvp_cpu_path())
        local results = {}
        for _, path in ipairs{"scalar", "avx2"} do
            set_path(path)
            local x, logs, bias, dy = inputs(3, 5, 37, 77)
            results[#results + 1] = {run(x, logs, bias, dy, 3, 5, 37, 1)}
        end
        set_path(original)
        for i = 1, 5 do assert_close(results[2][i], results[1][i], 1e-5, 1e-5, "path output " .. i) end
    end)

    it("do not depend on the thread count", function()
        local n, c, hw = 4, 6, 1500 -- above the parallel threshold
        local x, logs, bias, dy = inputs(n, c, hw, 3)
        local before = NVP.nvp_get_threads()
        nffi.check(NVP.nvp_set_threads(1))
        local one = {run(x, logs, bias, dy, n, c, hw, 0)}
        nffi.check(NVP.nvp_set_threads(2))
        local two = {run(x, logs, bias, dy, n, c, hw, 0)}
        nffi.check(NVP.nvp_set_threads(before))
        for i = 1, 5 do assert.are.equal(0, one[i]:max_abs_diff(two[i])) end
    end)

    it("fail with one line naming the op and the shape", function()
        local t = T.empty{4}
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG, tonumber(NVP.nvp_actnorm_forward(t.data, nil, t.data, t.data, 1, 2, 2, 0)))
        local msg = ffi.string(NVP.nvp_last_error())
        assert.truthy(msg:find("^nvp_actnorm_forward: a tensor argument is NULL"), msg)
        assert.truthy(msg:find("for x %(1,2,2%)"), msg)
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG, tonumber(NVP.nvp_actnorm_init(t.data, t.data, t.data, 1, 1, 1, 0, 0)))
        assert.truthy(ffi.string(NVP.nvp_last_error()):find("nvp_actnorm_init: scale = 0 must be > 0", 1, true))
    end)
end)
