-- nvp.layers.invconv: Glow's invertible 1x1 convolution (Kingma & Dhariwal 2018, Sec. 3.2; openai/glow
-- model.py `invertible_1x1_conv`): every pixel's channel vector is multiplied by one C x C matrix W,
--   y[:, :, i, j] = W x[:, :, i, j],   log-det per sample = H W log|det W|.
-- lu = true (Glow's LU variant): W = P L (U + diag(sign_s exp(log_s))), P a fixed permutation, L unit
-- lower triangular, U strictly upper (the parameters `lower`, `upper`, `log_s`; the unused triangles
-- of `lower` and `upper` get no gradient), so log|det W| = sum log_s costs nothing. lu = false: W is
-- the parameter and log|det W| comes from an LU factorisation in double.
-- W starts as a random rotation (QR of a seeded Gaussian matrix in double; its LU factors for lu).
-- The products go through the 1x1 convolution (nvp_conv2d_forward, k = 1: one GEMM over the batch);
-- the inverse multiplies by W^-1, computed in double once per call (C is at most a few dozen), and the
-- C x C algebra of the backward runs in Lua doubles.
--
--   x, y: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local InvConv = Module.class()

-- ---- dense C x C algebra in double (0-based flat row-major Lua tables) -------------------------

--- LU with partial pivoting of a (n x n): returns the packed factors, the pivot rows (row i of the
-- factors is row piv[i] of a) and log|det a| with its sign; nil when a is singular.
local function lu(a, n)
    local m, piv = {}, {}
    for i = 0, n * n - 1 do m[i] = a[i] end
    for i = 0, n - 1 do piv[i] = i end
    local logdet, sign = 0, 1
    for k = 0, n - 1 do
        local p, best = k, math.abs(m[k * n + k])
        for i = k + 1, n - 1 do
            if math.abs(m[i * n + k]) > best then p, best = i, math.abs(m[i * n + k]) end
        end
        if best == 0 then return nil end
        if p ~= k then
            for j = 0, n - 1 do m[k * n + j], m[p * n + j] = m[p * n + j], m[k * n + j] end
            piv[k], piv[p] = piv[p], piv[k]
            sign = -sign
        end
        local d = m[k * n + k]
        logdet = logdet + math.log(math.abs(d))
        if d < 0 then sign = -sign end
        for i = k + 1, n - 1 do
            local f = m[i * n + k] / d
            m[i * n + k] = f
            for j = k + 1, n - 1 do m[i * n + j] = m[i * n + j] - f * m[k * n + j] end
        end
    end
    return m, piv, logdet, sign
end

--- a^-1 from its LU factors (solving a X = I column by column).
local function inverse_from_lu(m, piv, n)
    local inv = {}
    for col = 0, n - 1 do
        local v = {}
        for i = 0, n - 1 do v[i] = piv[i] == col and 1 or 0 end
        for i = 0, n - 1 do           -- L (unit lower) forward substitution
            local s = v[i]
            for j = 0, i - 1 do s = s - m[i * n + j] * v[j] end
            v[i] = s
        end
        for i = n - 1, 0, -1 do       -- U back substitution
            local s = v[i]
            for j = i + 1, n - 1 do s = s - m[i * n + j] * v[j] end
            v[i] = s / m[i * n + i]
        end
        for i = 0, n - 1 do inv[i * n + col] = v[i] end
    end
    return inv
end

--- A random rotation: Q of the QR factorisation of a Gaussian matrix (modified Gram-Schmidt on the
-- columns, in double), from the build's rng.
local function random_rotation(n, rng)
    local g = rng:normal(T.empty{n, n})
    local q = {}
    for i = 0, n * n - 1 do q[i] = g.data[i] end
    for j = 0, n - 1 do
        for k = 0, j - 1 do
            local d = 0
            for i = 0, n - 1 do d = d + q[i * n + j] * q[i * n + k] end
            for i = 0, n - 1 do q[i * n + j] = q[i * n + j] - d * q[i * n + k] end
        end
        local norm = 0
        for i = 0, n - 1 do norm = norm + q[i * n + j] ^ 2 end
        norm = math.sqrt(norm)
        for i = 0, n - 1 do q[i * n + j] = q[i * n + j] / norm end
    end
    return q
end

InvConv.lu, InvConv.inverse_from_lu, InvConv.random_rotation = lu, inverse_from_lu, random_rotation

-- ---- the layer ----------------------------------------------------------------------------------

--- cfg: channels, lu (boolean), rng (the initial rotation).
function InvConv.new(cfg)
    local self = Module.init(setmetatable({}, InvConv))
    local n = cfg.channels
    self.channels, self.use_lu = n, cfg.lu
    local q = random_rotation(n, cfg.rng)
    if cfg.lu then
        local m, piv = lu(q, n)
        local lower, upper, log_s = T.zeros{n, n}, T.zeros{n, n}, T.empty{n}
        local perm, sign = T.empty{n}, T.empty{n}
        for i = 0, n - 1 do
            for j = 0, i - 1 do lower.data[i * n + j] = m[i * n + j] end
            for j = i + 1, n - 1 do upper.data[i * n + j] = m[i * n + j] end
            local d = m[i * n + i]
            log_s.data[i] = math.log(math.abs(d))
            sign.data[i] = d < 0 and -1 or 1
            perm.data[i] = piv[i]
        end
        self:param("lower", lower)
        self:param("upper", upper)
        self:param("log_s", log_s)
        -- fixed by the initialisation: state, not trained
        self:register_buffer("perm", perm)
        self:register_buffer("sign_s", sign)
    else
        local w = T.empty{n, n}
        for i = 0, n * n - 1 do w.data[i] = q[i] end
        self:param("weight", w)
    end
    self.w = T.empty{n, n, 1, 1}
    return self
end

--- W in double (0-based flat table) from the parameters; also fills self.w (float, for the kernels).
function InvConv:weight_double()
    local n = self.channels
    local w = {}
    if not self.use_lu then
        local p = self._params.weight.data
        for i = 0, n * n - 1 do w[i] = p[i] end
    else
        local p, b = self._params, self._buffers
        local lo, up, ls, sg, perm = p.lower.data, p.upper.data, p.log_s.data, b.sign_s.data, b.perm.data
        -- row i of L M (M = U + diag(s)) goes to row perm[i] of W
        for i = 0, n - 1 do
            local row = perm[i]
            for j = 0, n - 1 do
                local s = 0
                for k = 0, math.min(i, j) do
                    local l = k == i and 1 or lo[i * n + k]
                    local mk = k == j and sg[k] * math.exp(ls[k]) or up[k * n + j]
                    s = s + l * mk
                end
                w[row * n + j] = s
            end
        end
    end
    for i = 0, n * n - 1 do self.w.data[i] = w[i] end
    return w
end

--- log|det W| (double) and, for lu = false, the factors of W (for its inverse).
function InvConv:log_abs_det(w)
    local n = self.channels
    if self.use_lu then
        local s = 0
        for i = 0, n - 1 do s = s + self._params.log_s.data[i] end
        return s
    end
    local m, _, logdet = lu(w, n)
    if m == nil then error(("invconv: the %dx%d weight is singular"):format(n, n), 3) end
    return logdet
end

local function check_input(self, x, level)
    if #x.shape ~= 4 or x.shape[2] ~= self.channels then
        error(("invconv: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.channels), level + 1)
    end
end

local function conv(self, out, x, w)
    local s = x.shape
    check(C.nvp_conv2d_forward(out.data, nil, x.data, nil, w.data, nil, s[1], self.channels, self.channels, s[3], s[4],
        1), 3)
    return out
end

function InvConv:forward(x)
    check_input(self, x, 2)
    local n, hw = x.shape[1], x.shape[3] * x.shape[4]
    local w = self:weight_double()
    local y = conv(self, self:buffer("y", x.shape), x, self.w)
    return y, self:buffer("logdet", {n}):fill(hw * self:log_abs_det(w))
end

function InvConv:inverse(y)
    check_input(self, y, 2)
    local n = self.channels
    local m, piv = lu(self:weight_double(), n)
    if m == nil then error(("invconv: the %dx%d weight is singular"):format(n, n), 2) end
    local inv = inverse_from_lu(m, piv, n)
    local wi = self:buffer("w_inv", {n, n, 1, 1})
    for i = 0, n * n - 1 do wi.data[i] = inv[i] end
    return conv(self, self:buffer("x_inv", y.shape), y, wi)
end

InvConv.recover = InvConv.inverse

--- dy: (N,C,H,W), dlogdet: (N). Returns dL/dx; accumulates the parameters' gradients.
function InvConv:backward(x, dy, dlogdet)
    local nb, n, h, wd = x.shape[1], self.channels, x.shape[3], x.shape[4]
    local w = self:weight_double()
    local dx = self:buffer("dx", x.shape)
    local dwt = self:zeroed("dw", {n, n, 1, 1})
    check(C.nvp_conv2d_backward(dx.data, dwt.data, nil, dy.data, x.data, nil, self.w.data, nb, n, n, h, wd, 1,
        0), 2)
    local total = 0
    for i = 0, nb - 1 do total = total + dlogdet.data[i] end
    local cld = h * wd * total -- coefficient of log|det W| in the loss
    local g = self._grads
    if not self.use_lu then
        -- d log|det W| / dW = W^-T
        local m, piv = lu(w, n)
        local inv = inverse_from_lu(m, piv, n)
        for i = 0, n - 1 do
            for j = 0, n - 1 do
                g.weight.data[i * n + j] = g.weight.data[i * n + j] + dwt.data[i * n + j] + cld * inv[j * n + i]
            end
        end
        return dx
    end
    -- W = P A, A = L M: dA[i] = dW[perm[i]]; dL = dA M^T (strictly lower), dM = L^T dA
    local p, b = self._params, self._buffers
    local lo, up, ls, sg, perm = p.lower.data, p.upper.data, p.log_s.data, b.sign_s.data, b.perm.data
    local da = {}
    for i = 0, n - 1 do
        local row = perm[i]
        for j = 0, n - 1 do da[i * n + j] = dwt.data[row * n + j] end
    end
    local function m_at(k, j) -- M = U + diag(s)
        if k == j then return sg[k] * math.exp(ls[k]) end
        return k < j and up[k * n + j] or 0
    end
    for i = 0, n - 1 do
        for k = 0, i - 1 do            -- dL[i][k] = sum_j dA[i][j] M[k][j]
            local s = 0
            for j = k, n - 1 do s = s + da[i * n + j] * m_at(k, j) end
            g.lower.data[i * n + k] = g.lower.data[i * n + k] + s
        end
    end
    for k = 0, n - 1 do
        for j = k, n - 1 do            -- dM[k][j] = sum_i L[i][k] dA[i][j]
            local s = da[k * n + j]
            for i = k + 1, n - 1 do s = s + lo[i * n + k] * da[i * n + j] end
            if j == k then
                g.log_s.data[k] = g.log_s.data[k] + s * sg[k] * math.exp(ls[k]) + cld
            else
                g.upper.data[k * n + j] = g.upper.data[k * n + j] + s
            end
        end
    end
    return dx
end

function InvConv:__tostring()
    return ("InvConv1x1(%d%s)"):format(self.channels, self.use_lu and ", LU" or "")
end

registry.register{
    name = "InvConv1x1", kind = "flow",
    doc = "Glow's invertible 1x1 convolution: a learned C x C mixing of the channels at every pixel "
        .. "(LU-parametrised by default), started at a random rotation",
    args = {{"lu", "boolean", true, "W = P L (U + diag(s)): log-det sum log|s|; false: W itself, log-det by LU"}},
    build = function(args, shape, ctx)
        return InvConv.new{channels = shape[1], lu = args.lu, rng = ctx.rng}, shape
    end,
    profile = {kind = "conv", class = InvConv, methods = {"forward", "inverse", "backward"}},
    examples = {
        {args = {lu = true}, shape = {4, 3, 3}},
        {args = {lu = false}, shape = {3, 2, 5}},
        {args = {lu = true}, shape = {1, 3, 2}},
    },
}

return InvConv
