-- nvp.compress.glow_steps: the elementwise steps (nvp.compress.codec's encode_step / decode_step) of the
-- Glow family's layers, so a Glow codes with local bits-back like a Real NVP (Ho, Lohn, Abbeel 2019,
-- Sec. 3.4: a layer with a triangular Jacobian codes as a sequence of elementwise steps).
--   nn.GlowCoupling   the changing half is elementwise given the conditioning half (which x and y~ share):
--                     affine J = sigmoid(r + 2), gaussian (nn.SplitPrior) J = exp(r), additive J = 1
--   nn.TopPrior       y = (x + b) exp(s) per position: J = exp(s)
--   nn.InvConv1x1     y = W x at every pixel, W = P L M (M = U + diag(d) upper, L unit lower; the lu = false
--                     variant is factorised so in double). M x is C steps, channel i = 0, 1, ... changing
--                     given the channels after it (still x's): x_i <- d_i x_i + sum_{j>i} M_ij x_j, J = |d_i|;
--                     then L is C steps, channel i = C-1, ..., 0 given those before it: x_i <- x_i +
--                     sum_{j<i} L_ij x_j, J = 1; then the permutation P (free). sum_i log|d_i| = log|det W|.
--                     The products run in Lua doubles: encoder and decoder compute the same numbers.
-- Each builder returns one step or (nn.InvConv1x1) a list of steps and the permutation.
--
--   local gs = require "nvp.compress.glow_steps"
--   local step = gs.coupling(codec, layer, t)        -- t: (1, C, H, W), the layer's input or output
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local InvConv = require "nvp.layers.invconv"
local C, check = nffi.C, nffi.check

local M = {}

-- Flat indices (within one image) of channels [first, first + count) of (C, hw) maps, cached per shape.
local function channel_indices(cache, layer, first, count, hw)
    local key = ("%d:%d:%d"):format(first, count, hw)
    local per = cache[layer]
    if not per then per = {}; cache[layer] = per end
    if not per[key] then
        local idx = ffi.new("int32_t[?]", count * hw)
        for j = 0, count * hw - 1 do idx[j] = first * hw + j end
        per[key] = idx
    end
    return per[key]
end

--- nn.GlowCoupling (and nn.SplitPrior's gaussian one): t is x or y~; their conditioning halves agree.
function M.coupling(codec, layer, t)
    local c, hw = t.shape[2], t.shape[3] * t.shape[4]
    local half = layer.half
    local cond_first = layer.parity == 0 and 0 or half
    local change_first = half - cond_first
    local xc = layer:buffer("codec.cond", {1, half, t.shape[3], t.shape[4]})
    check(C.nvp_copy_channels(xc.data, half, 0, t.data, c, cond_first, half, 1, hw, 0))
    local h = layer.net:forward(xc)
    local n = half * hw
    local idx = channel_indices(codec.active, layer, change_first, half, hw)
    local sigma, kind, hd = codec.sigma, layer.kind, h.data
    return {n = n, idx = idx, sigma = sigma, xgrid = codec.grid, ygrid = codec.grid, what = "nn.GlowCoupling",
        forward = function(x)
            local y = layer:buffer("codec.y", x.shape)
            local logdet = layer:zeroed("codec.logdet", {1})
            check(C.nvp_glow_coupling_forward(y.data, logdet.data, x.data, hd, 1, c, hw, layer.parity, layer.code))
            return y
        end,
        inverse = function(y)
            local x = layer:buffer("codec.x", y.shape)
            check(C.nvp_glow_coupling_inverse(x.data, y.data, hd, 1, c, hw, layer.parity, layer.code))
            return x
        end,
        fill_scale = function(_, scale)
            -- element j of the changing half: r = h[half + j] (h = (t, r), nvp.h nvp_glow_coupling_forward)
            if kind == "additive" then
                for j = 0, n - 1 do scale[j] = sigma end
            elseif kind == "affine" then
                for j = 0, n - 1 do scale[j] = sigma / (1 + math.exp(-(hd[n + j] + 2))) end
            else
                for j = 0, n - 1 do scale[j] = sigma * math.exp(hd[n + j]) end
            end
        end}
end

--- nn.TopPrior: y = (x + b) exp(s), a gain per element.
function M.top_prior(codec, layer, t)
    local n, sigma, logs = layer.d, codec.sigma, layer._params.logs.data
    return {n = n, sigma = sigma, xgrid = codec.grid, ygrid = codec.grid, what = "nn.TopPrior",
        forward = function(x) return (layer:forward(x)) end,
        inverse = function(y) return layer:inverse(y) end,
        fill_scale = function(_, scale)
            for j = 0, n - 1 do scale[j] = sigma * math.exp(logs[j]) end
        end}
end

-- W = P L M of an nn.InvConv1x1 in double: perm (row i of L M is row perm[i] of W), d (M's diagonal),
-- m (strictly upper of M) and l (strictly lower of L), 0-based flat n x n tables.
local function factors(layer)
    local n = layer.channels
    local d, m, l, perm = {}, {}, {}, {}
    if layer.use_lu then
        local p, b = layer._params, layer._buffers
        for i = 0, n - 1 do
            d[i] = b.sign_s.data[i] * math.exp(p.log_s.data[i])
            perm[i] = b.perm.data[i]
            for j = 0, n - 1 do m[i * n + j], l[i * n + j] = p.upper.data[i * n + j], p.lower.data[i * n + j] end
        end
    else
        local packed, piv = InvConv.lu(layer:weight_double(), n)
        if packed == nil then error(("codec: nn.InvConv1x1: the %dx%d weight is singular"):format(n, n), 0) end
        for i = 0, n - 1 do
            d[i], perm[i] = packed[i * n + i], piv[i]
            for j = 0, n - 1 do m[i * n + j], l[i * n + j] = packed[i * n + j], packed[i * n + j] end
        end
    end
    return {n = n, d = d, m = m, l = l, perm = perm}
end

-- One triangular row as an elementwise step: channel i of (1, n, hw) becomes diag * x_i + sum_{j in
-- others} coef[i n + j] x_j, the others unchanged (and the same in x and y~).
local function row_step(codec, layer, f, i, coef, diag, first, last, hw, cache)
    local n, sigma = f.n, codec.sigma
    local function mix(src, p)
        local s = 0
        for j = first, last do s = s + coef[i * n + j] * src[j * hw + p] end
        return s
    end
    return {n = hw, idx = channel_indices(cache, layer, i, 1, hw), sigma = sigma, xgrid = codec.grid,
        ygrid = codec.grid, what = "nn.InvConv1x1",
        forward = function(x)
            local y = x:clone()
            for p = 0, hw - 1 do y.data[i * hw + p] = diag * x.data[i * hw + p] + mix(x.data, p) end
            return y
        end,
        inverse = function(y)
            local x = y:clone()
            for p = 0, hw - 1 do x.data[i * hw + p] = (y.data[i * hw + p] - mix(y.data, p)) / diag end
            return x
        end,
        fill_scale = function(_, scale)
            local g = sigma * math.abs(diag)
            for p = 0, hw - 1 do scale[p] = g end
        end}
end

--- nn.InvConv1x1: the 2C elementwise steps in forward order and the permutation as a function
-- permute(t, forward) -> tensor.
function M.invconv(codec, layer, t)
    local f = factors(layer)
    local n, hw = f.n, t.shape[3] * t.shape[4]
    local steps = {}
    for i = 0, n - 1 do steps[#steps + 1] = row_step(codec, layer, f, i, f.m, f.d[i], i + 1, n - 1, hw, codec.active) end
    for i = n - 1, 0, -1 do steps[#steps + 1] = row_step(codec, layer, f, i, f.l, 1, 0, i - 1, hw, codec.active) end
    local function permute(x, forward)
        local y = x:clone()
        for i = 0, n - 1 do
            local from, to = i, f.perm[i]                      -- y[perm[i]] = (L M x)[i]
            if not forward then from, to = to, from end
            ffi.copy(y.data + to * hw, x.data + from * hw, hw * 4)
        end
        return y
    end
    return steps, permute
end

return M
