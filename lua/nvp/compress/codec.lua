-- nvp.compress.codec: lossless coding of uint8 images with a trained flow by local bits-back coding
-- (Ho, Lohn, Abbeel, "Compression with Flows via Local Bits-Back Coding", NeurIPS 2019, Sec. 3.3-3.4;
-- hojonathanho/localbitsback, compression/flows.py ElementwiseFlow.code). One image at a time onto one
-- rANS message (nvp.compress.rans); the decoder runs the exact mirror, last image first.
--
-- Every value lives on a grid: logit-space values (after nn.Logit) at multiples of delta = 2^-delta_log2,
-- the dequantised pixels v in [0, 256) at multiples of 256 delta; a float32 tensor holds them exactly
-- (|value| < 2^24 delta, checked). For an elementwise layer y = f(x) with Jacobian diag(J), x on the grid:
--   encode: pop   y~ ~ N(f(x), sigma_x^2 J^2) on y's grid        (bits back: gains ~ -log2 N(y~) delta)
--           push  x  ~ N(f^-1(y~), sigma_x^2) on x's grid         (costs ~ -log2 N(x) delta)
--           go on with y~                                       (net: -log2 |J| per element, paper Eq. 14)
--   decode: pop x under N(f^-1(y~), sigma_x^2), then push y~ back under N(f(x), sigma_x^2 J^2).
-- Layers, in forward order:
--   nn.Dequantize  pop u uniform on 256 delta's grid in [0, 1) per sub-pixel: v = pixel + u (bits back)
--   nn.Logit       elementwise, J = (1 - 2 alpha) / (256 p (1 - p)); sigma_v = 256 sigma
--   nn.Coupling    the conditioning part passes unchanged; the changing part is elementwise given it:
--                  y = (x + t) exp(s), J = exp(s), exact (the Gaussians match: no linearisation error)
--   nn.FlowBatchNorm (evaluation), nn.ActNorm: per-channel affine, J = gamma invstd or exp(logs)
--   nn.Squeeze, nn.Permute, nn.FactorOut: permutations, cost-free (the factored half passes unchanged)
--   nn.GlowCoupling (and nn.SplitPrior), nn.TopPrior, nn.InvConv1x1: nvp.compress.glow_steps
--   prior          push z under N(0, I) on the grid
-- Anything else (nn.ClassPrior: the label would need coding too) is refused by name.
--
--   local codec = require "nvp.compress.codec"
--   local why = codec.unsupported(model)                         -- nil or "nn.InvConv1x1 (model.flow...)"
--   local c = codec.new(model, {sigma_log2 = 14, delta_log2 = 18})
--   local v = c:encode(msg, pixels_ptr)   -- v: the dequantised image the coder realised
--   c:model_bits(v)                       -- the model's -log2 p(v), for the accounting
--   c:decode(msg, pixels_ptr)   -- fills one image's pixels
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Sequence = require "nvp.layers.sequence"
local FactorOut = require "nvp.layers.factor_out"
local Squeeze = require "nvp.layers.squeeze"
local Permute = require "nvp.layers.permute"
local Coupling = require "nvp.layers.coupling"
local FlowBatchNorm = require "nvp.layers.flow_batchnorm"
local ActNorm = require "nvp.layers.actnorm"
local GlowCoupling = require "nvp.layers.glow_coupling"
local InvConv = require "nvp.layers.invconv"
local TopPrior = require "nvp.layers.top_prior"
local glow_steps = require "nvp.compress.glow_steps"
local C, check = nffi.C, nffi.check

local M = {}

--- The coding settings (stored in the file header): sigma = 2^-sigma_log2 (noise scale in logit space),
-- delta = 2^-delta_log2 (the grid), res (2^res..2^(res+1) coarse buckets per standard deviation), nbuckets
-- (the window), precision (rANS bits). compress.md has the measurements behind the defaults.
M.DEFAULTS = {sigma_log2 = 14, delta_log2 = 18, res = 6, nbuckets = 2048, precision = 24}

local LN2 = math.log(2)
local i64 = ffi.typeof("int64_t[?]")
local f64 = ffi.typeof("double[?]")

local Codec = {}
Codec.__index = Codec

-- ---- the layers the codec knows ---------------------------------------------------------------

local function kind_of(m)
    local mt = getmetatable(m)
    if mt == Sequence then return "sequence" end
    if mt == FactorOut then return "factor_out" end
    if mt == Squeeze or mt == Permute then return "permutation" end
    if mt == Coupling then return "coupling" end
    if mt == FlowBatchNorm or mt == ActNorm then return "channel_affine" end
    if mt == GlowCoupling then return "glow_coupling" end
    if mt == TopPrior then return "top_prior" end
    if mt == InvConv then return "invconv" end
    return nil
end

--- nil when every layer of the model's flow can be coded, else "nn.Name (path)" of the first that cannot.
function M.unsupported(model)
    local function walk(m, path)
        local kind = kind_of(m)
        if kind == nil then
            return ("nn.%s (%s)"):format(tostring(m):match("^([%w_]+)") or "?", path)
        end
        if kind == "sequence" then
            for i, l in ipairs(m.layers) do
                local why = walk(l, path .. "." .. i)
                if why then return why end
            end
        end
        if kind == "factor_out" then return walk(m.inner, path .. ".inner") end
        return nil
    end
    return walk(model.flow, "model.flow")
end

--- A codec for `model` (in evaluation mode) with settings s (M.DEFAULTS where absent).
function M.new(model, s)
    local self = setmetatable({model = model, s = {}}, Codec)
    for k, v in pairs(M.DEFAULTS) do self.s[k] = (s and s[k]) or v end
    local st = self.s
    self.sigma, self.delta = 2 ^ -st.sigma_log2, 2 ^ -st.delta_log2
    self.grid = {delta = self.delta, res = st.res, nbuckets = st.nbuckets, precision = st.precision}
    self.vgrid = {delta = 256 * self.delta, res = st.res, nbuckets = st.nbuckets, precision = st.precision}
    self.noise_n = 2 ^ (st.delta_log2 - 8)           -- points of u in [0, 1): u = j * 256 delta
    if st.delta_log2 < 9 or st.delta_log2 > 32 then error("codec: delta_log2 must be in [9, 32]", 0) end
    self.shape = {1, model.cfg.channels, model.cfg.height, model.cfg.width_px}
    self.dims = model.dims
    self.k = i64(self.dims)
    self.mean, self.scale = f64(self.dims), f64(self.dims)
    self.active = {}                                 -- layer -> flat indices of its changing parts
    return self
end

-- ---- grid <-> float tensors ---------------------------------------------------------------------

-- k[j] = x[idx[j]] / delta (exact; x is on the grid), for j < n (idx nil: the identity).
local function to_grid(x, idx, n, delta, k)
    local d = x.data
    for j = 0, n - 1 do
        local v = d[idx and idx[j] or j] / delta
        k[j] = v
    end
end

-- x[idx[j]] = k[j] * delta, refused when float32 cannot hold it exactly.
local function from_grid(x, idx, n, delta, k, what)
    local d = x.data
    for j = 0, n - 1 do
        local v = tonumber(k[j])
        if v >= 16777216 or v <= -16777216 then
            local d = math.floor(-math.log(delta) / LN2 + 0.5)
            error(("codec: %s: value %.9g is beyond float32's exact range on the grid 2^-%d (|value| < 2^%d; "
                .. "a coarser grid, delta=%d, doubles it)"):format(what, v * delta, d, 24 - d, d - 1), 0)
        end
        d[idx and idx[j] or j] = v * delta
    end
end

-- ---- one elementwise step (paper Sec. 3.4) ----------------------------------------------------------

-- step = {n, idx (changing indices or nil), forward(x) -> y tensor, fill_scale(x, scale) (sigma_x |J|
-- of element j into scale[j]), inverse(ybar) -> x~ tensor, xgrid, ygrid, sigma (of x), what}.
function Codec:encode_step(msg, x, step)
    local n, idx, k, mean, scale = step.n, step.idx, self.k, self.mean, self.scale
    local y = step.forward(x)
    for j = 0, n - 1 do mean[j] = y.data[idx and idx[j] or j] end
    step.fill_scale(x, scale)
    msg:pop_gaussians(k, mean, scale, n, step.ygrid)              -- y~ ~ N(f(x), sigma^2 J^2)
    local ybar = y:clone()
    from_grid(ybar, idx, n, step.ygrid.delta, k, step.what)
    local xt = step.inverse(ybar)
    for j = 0, n - 1 do mean[j] = xt.data[idx and idx[j] or j]; scale[j] = step.sigma end
    to_grid(x, idx, n, step.xgrid.delta, k)
    msg:push_gaussians(k, mean, scale, n, step.xgrid)             -- x ~ N(f^-1(y~), sigma^2)
    return ybar
end

function Codec:decode_step(msg, ybar, step)
    local n, idx, k, mean, scale = step.n, step.idx, self.k, self.mean, self.scale
    local xt = step.inverse(ybar)
    for j = 0, n - 1 do mean[j] = xt.data[idx and idx[j] or j]; scale[j] = step.sigma end
    msg:pop_gaussians(k, mean, scale, n, step.xgrid)
    local x = ybar:clone()                                         -- the unchanged part is y~'s
    from_grid(x, idx, n, step.xgrid.delta, k, step.what)
    local y = step.forward(x)
    for j = 0, n - 1 do mean[j] = y.data[idx and idx[j] or j] end
    step.fill_scale(x, scale)
    to_grid(ybar, idx, n, step.ygrid.delta, k)
    msg:push_gaussians(k, mean, scale, n, step.ygrid)
    return x
end

-- ---- the steps of each layer ---------------------------------------------------------------------

-- nn.Logit: v (pixel units) -> y. p = alpha + (1 - 2 alpha) v / 256, dy/dv = (1 - 2 alpha) / (256 p (1 - p)).
function Codec:logit_step()
    local logit, sv = self.model.logit, 256 * self.sigma
    local a = logit.alpha
    local kk = (1 - 2 * a) / 256
    return {n = self.dims, sigma = sv, xgrid = self.vgrid, ygrid = self.grid, what = "nn.Logit",
        forward = function(v) return (logit:transform(v, "codec")) end,
        inverse = function(y) return logit:inverse(y) end,
        fill_scale = function(v, scale)
            for j = 0, self.dims - 1 do
                local p = a + kk * v.data[j]
                scale[j] = sv * kk / (p * (1 - p))
            end
        end}
end

-- The flat indices (0-based, within one image) of a coupling's changing part, as the kernel's
-- is_changing decides (nvp.h, nvp_coupling_forward).
local function changing_indices(layer, c, h, w)
    local list = {}
    for ch = 0, c - 1 do
        for i = 0, h - 1 do
            for j = 0, w - 1 do
                local changes
                if layer.kind == 0 then changes = (i + j + layer.parity) % 2 == 0
                else changes = (layer.parity == 0) == (ch < c / 2) end
                if changes then list[#list + 1] = (ch * h + i) * w + j end
            end
        end
    end
    local idx = ffi.new("int32_t[?]", #list)
    for q = 1, #list do idx[q - 1] = list[q] end
    return idx, #list
end

-- nn.Coupling: y = (x + t) exp(s) on the changing part, (s_raw, t) from the conditioning part, which
-- x and y~ share: the s/t network runs once per direction, on whichever of them is at hand.
function Codec:coupling_step(layer, t)
    local _, c, h, w = t.shape[1], t.shape[2], t.shape[3], t.shape[4]
    local key = ("%dx%dx%d"):format(c, h, w)
    local act = self.active[layer]
    if not act or act.key ~= key then
        local idx, n = changing_indices(layer, c, h, w)
        act = {key = key, idx = idx, n = n}
        self.active[layer] = act
    end
    local st = layer.st:forward(layer:conditioning(t, "codec.cond"), true)
    local lam = layer:lambda()
    local sigma = self.sigma
    local hw, ct = h * w, layer.changing
    return {n = act.n, idx = act.idx, sigma = sigma, xgrid = self.grid, ygrid = self.grid, what = "nn.Coupling",
        forward = function(x)
            local y = layer:buffer("codec.y", x.shape)
            local logdet = layer:zeroed("codec.logdet", {1})
            check(C.nvp_coupling_forward(y.data, logdet.data, x.data, st.data, lam.data, 1, c, h, w, layer.kind,
                layer.parity))
            return y
        end,
        inverse = function(y)
            local x = layer:buffer("codec.x", y.shape)
            check(C.nvp_coupling_inverse(x.data, y.data, st.data, lam.data, 1, c, h, w, layer.kind, layer.parity))
            return x
        end,
        fill_scale = function(_, scale)
            -- element at (ch, p): s = lam_k tanh(s_raw[k, p]), k = ch (checkerboard) or ch mod C/2
            for j = 0, act.n - 1 do
                local flat = act.idx[j]
                local ch, p = math.floor(flat / hw), flat % hw
                local kch = layer.kind == 0 and ch or ch % ct
                scale[j] = sigma * math.exp(lam.data[kch] * math.tanh(st.data[kch * hw + p]))
            end
        end}
end

-- nn.FlowBatchNorm (evaluation: the running averages) and nn.ActNorm: y = a_c x + b_c per channel.
function Codec:channel_affine_step(layer, t)
    local c, hw = t.shape[2], t.shape[3] * t.shape[4]
    local sigma = self.sigma
    local gain
    if getmetatable(layer) == ActNorm then
        gain = function(ch) return math.exp(layer._params.logs.data[ch]) end
    else
        local bn = layer.bn
        gain = function(ch) return math.abs(bn._params.gamma.data[ch]) * bn.invstd.data[ch] end
    end
    local name = getmetatable(layer) == ActNorm and "nn.ActNorm" or "nn.FlowBatchNorm"
    return {n = c * hw, sigma = sigma, xgrid = self.grid, ygrid = self.grid, what = name,
        forward = function(x) return (layer:forward(x)) end,
        inverse = function(y) return layer:inverse(y) end,
        fill_scale = function(_, scale)
            for ch = 0, c - 1 do
                local g = sigma * gain(ch)
                for p = 0, hw - 1 do scale[ch * hw + p] = g end
            end
        end}
end

-- ---- walking the flow ---------------------------------------------------------------------------

-- encode = true: x -> y~ through module m; false: y~ -> x. Tensors are one image (1, C, H, W).
function Codec:code_module(msg, m, t, encode)
    local kind = kind_of(m)
    if kind == "sequence" then
        local layers = m.layers
        if encode then
            for i = 1, #layers do t = self:code_module(msg, layers[i], t, true) end
        else
            for i = #layers, 1, -1 do t = self:code_module(msg, layers[i], t, false) end
        end
        return t
    elseif kind == "factor_out" then
        -- squeeze B, the first half through the inner flow, the second unchanged; the same both ways
        local go_on, factored = m:split(m.squeeze:squeeze(t, "codec.s"), "codec.split")
        factored = factored:clone()
        local inner = self:code_module(msg, m.inner, go_on:clone(), encode)
        return m.squeeze:expand(m:concat(inner, factored, "codec.joined"), "codec.z"):clone()
    elseif kind == "permutation" then
        return (encode and m:forward(t) or m:inverse(t)):clone()
    elseif kind == "coupling" then
        if encode then return self:encode_step(msg, t, self:coupling_step(m, t)) end
        return self:decode_step(msg, t, self:coupling_step(m, t))
    elseif kind == "channel_affine" then
        if encode then return self:encode_step(msg, t, self:channel_affine_step(m, t)) end
        return self:decode_step(msg, t, self:channel_affine_step(m, t))
    elseif kind == "glow_coupling" or kind == "top_prior" then
        local step = glow_steps[kind == "glow_coupling" and "coupling" or "top_prior"](self, m, t)
        if encode then return self:encode_step(msg, t, step) end
        return self:decode_step(msg, t, step)
    elseif kind == "invconv" then
        local steps, permute = glow_steps.invconv(self, m, t)
        if encode then
            for i = 1, #steps do t = self:encode_step(msg, t, steps[i]) end
            return permute(t, true)
        end
        t = permute(t, false)
        for i = #steps, 1, -1 do t = self:decode_step(msg, t, steps[i]) end
        return t
    end
    error(("codec: cannot code %s"):format(tostring(m):match("^([%w_]+)") or "?"), 0)
end

-- The prior N(0, I) on z's grid.
function Codec:prior(msg, z, encode)
    local n, k, mean, scale = self.dims, self.k, self.mean, self.scale
    for j = 0, n - 1 do mean[j], scale[j] = 0, 1 end
    if encode then
        to_grid(z, nil, n, self.delta, k)
        msg:push_gaussians(k, mean, scale, n, self.grid)
    else
        msg:pop_gaussians(k, mean, scale, n, self.grid)
        from_grid(z, nil, n, self.delta, k, "the prior")
    end
end

--- Encode one image (pixels: uint8 pointer to C*H*W bytes) onto msg. Returns the dequantised image v
-- (1, C, H, W) the coder realised (pixels + the noise it popped), for model_bits.
function Codec:encode(msg, pixels)
    local model = self.model
    local v = T.empty(self.shape)
    local du = 256 * self.delta
    for j = 0, self.dims - 1 do                                     -- bits back for nn.Dequantize
        v.data[j] = pixels[j] + msg:pop_uniform(self.noise_n) * du
    end
    local y = self:encode_step(msg, v, self:logit_step())
    local z = self:code_module(msg, model.flow, y, true)
    self:prior(msg, z, true)
    return v
end

--- The model's own -log2 p(v) in bits for a dequantised image v (1, C, H, W): logit, flow and prior
-- (nvp.flow's loss; the density of v in pixel units), what the coder's codelength is measured against.
function Codec:model_bits(v)
    local model = self.model
    local yv, logdet_pre = model.logit:transform(v, "codec.model")
    local zv, logdet = model:forward(yv)
    return model:nll_from(zv, logdet, logdet_pre).data[0] / LN2
end

--- The dequantised image at the middle of every pixel's interval (v = pixel + 1/2), for the accounting
-- of an image sent raw (nvp.compress.stream).
function Codec:midpoint(pixels)
    local v = T.empty(self.shape)
    for j = 0, self.dims - 1 do v.data[j] = pixels[j] + 0.5 end
    return v
end

--- Decode the image last encoded onto msg into pixels (uint8 pointer to C*H*W bytes).
function Codec:decode(msg, pixels)
    local z = T.empty(self.shape)
    self:prior(msg, z, false)
    local y = self:code_module(msg, self.model.flow, z, false)
    local v = self:decode_step(msg, y, self:logit_step())
    local du = 256 * self.delta
    for j = self.dims - 1, 0, -1 do
        local px = math.floor(v.data[j])
        local u = (v.data[j] - px) / du
        if px < 0 or px > 255 or u ~= math.floor(u) then
            error(("codec: decoded value %.9g of sub-pixel %d is not a dequantised pixel"):format(v.data[j], j), 0)
        end
        msg:push_uniform(u, self.noise_n)
        pixels[j] = px
    end
end

M.Codec = Codec
return M
