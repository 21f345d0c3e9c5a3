-- Convolutions that apply a batch norm + ReLU to their input as they read it (nvp_bn_relu):
-- nvp_conv2d_forward / nvp_conv2d_backward with act, on every CPU path and with the Winograd algorithms
-- forced (conv_entry's nvp_winograd_* and nvp_conv2d_* forms, spec/helpers.lua), each against the same
-- path's batch norm (nvp_batchnorm_forward_eval, relu = 1) written out and then the plain conv. The
-- activation is the same arithmetic on the same path, so the results must agree bit for bit: a
-- padded border that went through the activation (max(0, beta - mean * scale) instead of 0), a
-- wrong channel's statistics or a missed plane all change bits. Ragged shapes: the AVX-512
-- register-row planes (14x14, 28x28, 19 wide), the generic ones (37 wide), small planes, Cin < 16
-- (conv2d's im2col path) and 1x1 convs (GEMM path).
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local ffi = require "ffi"

local function randn(shape, seed) return spec_rng(seed):normal(T.empty(shape)) end

-- The batch norm a conv path pairs with: nvp_batchnorm_forward_eval on the same CPU path ("" the current
-- one, "_ref" the scalar one, ...: kernel() in spec/helpers.lua).
local function bn_eval_for(suffix)
    return kernel("nvp_batchnorm_forward_eval" .. suffix)
end

-- {n, cin, cout, h, w, k}
local shapes = {
    {2, 17, 5, 13, 19, 3}, {1, 20, 7, 14, 14, 3}, {2, 16, 9, 28, 28, 3}, {1, 18, 6, 5, 37, 3},
    {3, 5, 4, 7, 9, 3}, {1, 3, 2, 1, 1, 3}, {2, 19, 6, 7, 9, 1},
}

local function problem(s)
    local n, cin, cout, h, wd, k = s[1], s[2], s[3], s[4], s[5], s[6]
    local p = {n = n, cin = cin, cout = cout, h = h, w = wd, k = k}
    p.x, p.wt, p.b = randn({n, cin, h, wd}, 1), randn({cout, cin, k, k}, 2), randn({cout}, 3)
    p.r, p.dy = randn({n, cout, h, wd}, 4), randn({n, cout, h, wd}, 5)
    p.dx0, p.dw0, p.db0 = randn({n, cin, h, wd}, 6), randn({cout, cin, k, k}, 7), randn({cout}, 8)
    -- statistics that leave about half of each channel above zero; some gammas negative
    p.mean, p.gamma, p.beta = randn({cin}, 9), randn({cin}, 10), randn({cin}, 11)
    p.invstd = T.empty{cin}
    for c = 0, cin - 1 do p.invstd.data[c] = 0.5 + (c % 5) * 0.3 end
    p.act = ffi.new("nvp_bn_relu", {p.mean.data, p.invstd.data, p.gamma.data, p.beta.data})
    return p
end

-- act(x) written out by the batch norm of `suffix`'s path
local function activated(p, suffix, winograd)
    local xa = T.empty(p.x.shape)
    assert(bn_eval_for(suffix, winograd)(xa.data, p.x.data, p.gamma.data, p.beta.data, p.mean.data, p.invstd.data, p.n, p.cin,
        p.h * p.w, 1) == 0, nffi.last_error())
    return xa
end

local function nan_like(t) return T.full(t.shape, 0 / 0) end

-- sizes' values then the extra ones (unpack mid-list would pass only the first)
local function args(sizes, ...)
    local a = {unpack(sizes)}
    for _, v in ipairs{...} do a[#a + 1] = v end
    return unpack(a)
end

describe("winograd with an input batch norm + ReLU (nvp_bn_relu)", function()
    for _, s in ipairs(shapes) do
        if s[6] == 3 then
            local p = problem(s)
            for _, suffix in ipairs(kernel_suffixes()) do
                local xa = activated(p, suffix, true)
                for _, tile in ipairs{2, 4, 7, 8} do
                    local name = ("F(%dx%d) %s (n,cin,cout,h,w) = (%s)"):format(tile, tile, suffix,
                        table.concat(s, ",", 1, 5))
                    local sizes = {p.n, p.cin, p.cout, p.h, p.w, tile}
                    it("forward " .. name, function()
                        local f = conv_entry("nvp_winograd_forward_act" .. suffix)
                        local plain, plain_add = conv_entry("nvp_winograd_forward" .. suffix),
                            conv_entry("nvp_winograd_forward_add" .. suffix)
                        local y, want = nan_like(p.r), T.empty(p.r.shape) -- r = NULL: y never read
                        assert.are.equal(0, f(y.data, nil, p.x.data, p.act, p.wt.data, p.b.data, unpack(sizes)))
                        assert.are.equal(0, plain(want.data, xa.data, p.wt.data, p.b.data, args(sizes, 0)))
                        assert_close(y, want, 0, 0, "y = conv(act(x)) + b")
                        local yr = nan_like(p.r) -- y = r + conv(act(x)), r its own tensor
                        assert.are.equal(0, f(yr.data, p.r.data, p.x.data, p.act, p.wt.data, nil, unpack(sizes)))
                        assert.are.equal(0, plain_add(want.data, p.r.data, xa.data, p.wt.data, nil, unpack(sizes)))
                        assert_close(yr, want, 0, 0, "y = r + conv(act(x))")
                        local yacc = p.r:clone() -- r = y: accumulate
                        assert.are.equal(0, f(yacc.data, yacc.data, p.x.data, p.act, p.wt.data, nil, unpack(sizes)))
                        assert_close(yacc, want, 0, 0, "y += conv(act(x))")
                    end)
                    it("backward " .. name, function()
                        local f = conv_entry("nvp_winograd_backward_act" .. suffix)
                        local dx, dw, db = p.dx0:clone(), p.dw0:clone(), p.db0:clone()
                        assert.are.equal(0, f(dx.data, dw.data, db.data, p.dy.data, p.x.data, p.act, p.wt.data,
                            args(sizes, 1)))
                        local wdx, wdw, wdb = p.dx0:clone(), p.dw0:clone(), p.db0:clone()
                        assert.are.equal(0, conv_entry("nvp_winograd_backward" .. suffix)(wdx.data, wdw.data, wdb.data,
                            p.dy.data, xa.data, p.wt.data, args(sizes, 1)))
                        assert_close(dw, wdw, 0, 0, "dw of conv(act(x))")
                        assert_close(db, wdb, 0, 0, "db")
                        assert_close(dx, wdx, 0, 0, "dx = dL/d act(x)")
                        local dw1 = p.dw0:clone() -- dw alone, dx written fresh (never read) alone
                        assert.are.equal(0, f(nil, dw1.data, nil, p.dy.data, p.x.data, p.act, p.wt.data,
                            args(sizes, 1)))
                        assert_close(dw1, wdw, 0, 0, "dw alone")
                        local dxw = nan_like(p.dx0)
                        assert.are.equal(0, f(dxw.data, nil, nil, p.dy.data, nil, nil, p.wt.data, args(sizes, 0)))
                        assert_close(dxw:axpy(1, p.dx0), wdx, 1e-6, 1e-6, "dx written")
                    end)
                end
            end
        end
    end
end)

describe("conv2d with an input batch norm + ReLU (nvp_bn_relu)", function()
    local suffixes = {""}
    for _, suffix in ipairs(kernel_suffixes()) do suffixes[#suffixes + 1] = suffix end
    for _, s in ipairs(shapes) do
        local p = problem(s)
        for _, suffix in ipairs(suffixes) do
            local xa = activated(p, suffix)
            local name = ("nvp_conv2d_*_act%s (n,cin,cout,h,w,k) = (%s)"):format(suffix, table.concat(s, ","))
            local sizes = {p.n, p.cin, p.cout, p.h, p.w, p.k}
            it(name .. " forward: conv(act(x)) + b, r + ..., y += ...", function()
                local f = conv_entry("nvp_conv2d_forward_act" .. suffix)
                local plain, plain_add = conv_entry("nvp_conv2d_forward" .. suffix), conv_entry("nvp_conv2d_forward_add" .. suffix)
                local y, want = nan_like(p.r), T.empty(p.r.shape)
                assert.are.equal(0, f(y.data, nil, p.x.data, p.act, p.wt.data, p.b.data, unpack(sizes)))
                assert.are.equal(0, plain(want.data, xa.data, p.wt.data, p.b.data, args(sizes, 0)))
                assert_close(y, want, 0, 0, "y")
                local yr = nan_like(p.r)
                assert.are.equal(0, f(yr.data, p.r.data, p.x.data, p.act, p.wt.data, p.b.data, unpack(sizes)))
                assert.are.equal(0, plain_add(want.data, p.r.data, xa.data, p.wt.data, p.b.data, unpack(sizes)))
                assert_close(yr, want, 0, 0, "y = r + conv(act(x)) + b")
                local yacc = p.r:clone()
                assert.are.equal(0, f(yacc.data, yacc.data, p.x.data, p.act, p.wt.data, p.b.data, unpack(sizes)))
                assert_close(yacc, want, 0, 0, "y += conv(act(x)) + b")
                -- act = NULL is the plain conv
                local y0 = nan_like(p.r)
                assert.are.equal(0, f(y0.data, nil, p.x.data, nil, p.wt.data, p.b.data, unpack(sizes)))
                assert.are.equal(0, plain(want.data, p.x.data, p.wt.data, p.b.data, args(sizes, 0)))
                assert_close(y0, want, 0, 0, "act = NULL")
            end)
            it(name .. " backward: dw, db with act(x); dx = dL/d act(x)", function()
                local f = conv_entry("nvp_conv2d_backward_act" .. suffix)
                local dx, dw, db = nan_like(p.dx0), p.dw0:clone(), p.db0:clone()
                assert.are.equal(0, f(dx.data, dw.data, db.data, p.dy.data, p.x.data, p.act, p.wt.data,
                    args(sizes, 0)))
                local wdx, wdw, wdb = T.empty(p.dx0.shape), p.dw0:clone(), p.db0:clone()
                assert.are.equal(0, conv_entry("nvp_conv2d_backward" .. suffix)(wdx.data, wdw.data, wdb.data, p.dy.data,
                    xa.data, p.wt.data, args(sizes, 0)))
                assert_close(dw, wdw, 0, 0, "dw")
                assert_close(db, wdb, 0, 0, "db")
                assert_close(dx, wdx, 0, 0, "dx")
            end)
        end
    end
    it("names a NULL array of act, and the call", function()
        local p = problem(shapes[1])
        local y = T.empty(p.r.shape)
        for _, fn in ipairs{"nvp_conv2d_forward_act", "nvp_winograd_forward_act"} do
            for _, missing in ipairs{"mean", "invstd", "gamma", "beta"} do
                local bad = ffi.new("nvp_bn_relu", p.act)
                bad[missing] = nil
                local last = fn == "nvp_winograd_forward_act" and 2 or 3
                assert.are_not.equal(0, conv_entry(fn)(y.data, nil, p.x.data, bad, p.wt.data, nil, p.n, p.cin, p.cout,
                    p.h, p.w, last == 2 and 4 or 3))
                assert.are.equal(("nvp_conv2d_forward: act->%s (%d) is NULL"):format(missing, p.cin), nffi.last_error())
            end
        end
        local bad = ffi.new("nvp_bn_relu", p.act)
        bad.beta = nil
        local dw = p.dw0:clone()
        assert.are_not.equal(0, NVP.nvp_conv2d_backward(nil, dw.data, nil, p.dy.data, p.x.data, bad, p.wt.data,
            p.n, p.cin, p.cout, p.h, p.w, 3, 1))
        assert.are.equal(("nvp_conv2d_backward: act->beta (%d) is NULL"):format(p.cin), nffi.last_error())
    end)
end)
