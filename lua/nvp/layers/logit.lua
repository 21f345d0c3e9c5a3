-- nvp.layers.logit: the logit transform of the dequantised pixels (paper Sec. 4.1; preprocess.md
-- beside this file has the derivation):
--   p = alpha + (1 - 2 alpha) v / 256,  y = log p - log(1 - p)
--   log-det per sample (of v -> y) = sum_d [log(1 - 2 alpha) - log p_d - log(1 - p_d)] - D log 256
-- The model takes the term without the - D log 256 (transform(), the density of u = v / 256 on the unit
-- cube) and adds D log 256 with the prior: the width of one of the 256 bins of a pixel.
--
--   v, y: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local Logit = Module.class()

local LOG_256 = math.log(256)

--- cfg: alpha in (0, 0.5).
function Logit.new(cfg)
    local self = Module.init(setmetatable({}, Logit))
    self.alpha = cfg.alpha
    return self
end

--- y and the log-det of u = v / 256 -> y (N), into buffers `key`.y / `key`.logdet.
function Logit:transform(v, key)
    key = key or "pre"
    local n = v.shape[1]
    local y = self:buffer(key .. ".y", v.shape)
    local logdet = self:zeroed(key .. ".logdet", {n})
    check(C.nvp_logit_forward(y.data, logdet.data, v.data, n, v.numel / n, self.alpha), 2)
    return y, logdet
end

function Logit:forward(v)
    local y, logdet_u = self:transform(v, "fwd")
    local d = v.numel / v.shape[1]
    local logdet = self:buffer("logdet", logdet_u.shape)
    for i = 0, v.shape[1] - 1 do logdet.data[i] = logdet_u.data[i] - d * LOG_256 end
    return y, logdet
end

function Logit:inverse(y)
    local v = self:buffer("x_inv", y.shape)
    check(C.nvp_logit_inverse(v.data, y.data, y.numel, self.alpha), 2)
    return v
end

Logit.recover = Logit.inverse

--- dv = dy dy/dv + dlogdet dlogdet/dv, with dy/dv = k / (p (1 - p)), dlogdet/dv = -k (1 - 2p) / (p (1 - p)),
-- k = (1 - 2 alpha) / 256. Only a caller that needs the gradient with respect to pixels runs this
-- (training stops at the data), so it is a plain loop.
function Logit:backward(v, dy, dlogdet)
    local n = v.shape[1]
    local d = v.numel / n
    local k = (1 - 2 * self.alpha) / 256
    local dv = self:buffer("dx", v.shape)
    for i = 0, n - 1 do
        local dl = dlogdet.data[i]
        for j = i * d, (i + 1) * d - 1 do
            local p = self.alpha + k * v.data[j]
            local q = p * (1 - p)
            dv.data[j] = dy.data[j] * k / q - dl * k * (1 - 2 * p) / q
        end
    end
    return dv
end

function Logit:__tostring()
    return ("Logit(alpha %g)"):format(self.alpha)
end

registry.register{
    name = "Logit", kind = "flow",
    doc = "logit(alpha + (1 - 2 alpha) v / 256) of the dequantised pixels v (paper Sec. 4.1)",
    args = {{"alpha", "number", 0.05, "keeps the logit finite at 0 and 256", check = function(v)
        if v <= 0 or v >= 0.5 then return "must be in (0, 0.5)" end end}},
    build = function(args, shape)
        return Logit.new{alpha = args.alpha}, shape
    end,
    profile = {kind = "data", class = Logit, methods = {"transform", "forward", "inverse"}},
    -- inputs in (0, 256): the example's values are drawn there (domain = {low, high})
    examples = {{args = {alpha = 0.05}, shape = {2, 3, 2}, domain = {20, 236}}},
}

return Logit
