-- nvp.layers.top_prior: Glow's learned top prior (`learntop`: openai/glow model.py `prior`) as a flow
-- layer at the end of the last level: a learned mean and log-std for every position and channel of
-- the top latent, applied as eps = (z - mean) / std, i.e.
--   y = (x + b) exp(s),  b = -mean, s = -log std: (C, H, W), zeros at start;  log-det = sum s
-- (under the model's standard normal prior on y: log N(z; mean, std^2)). The parameters are per
-- position, so the model then samples at its training size only. The arithmetic is the actnorm
-- kernel with one "channel" per (c, h, w).
--
--   x, y: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local TopPrior = Module.class()

function TopPrior.new(cfg)
    local self = Module.init(setmetatable({}, TopPrior))
    self.shape = {cfg.shape[1], cfg.shape[2], cfg.shape[3]}
    self.d = cfg.shape[1] * cfg.shape[2] * cfg.shape[3]
    self:param("logs", T.zeros(self.shape))
    self:param("bias", T.zeros(self.shape))
    return self
end

local function check_input(self, x, level)
    local s = self.shape
    if #x.shape ~= 4 or x.shape[2] ~= s[1] or x.shape[3] ~= s[2] or x.shape[4] ~= s[3] then
        error(("top prior: input %s, expected (N,%d,%d,%d) (its parameters are per position: the model samples "
            .. "at its training size)"):format(T.shape_string(x.shape), s[1], s[2], s[3]), level + 1)
    end
end

function TopPrior:forward(x)
    check_input(self, x, 2)
    local p = self._params
    local y = self:buffer("y", x.shape)
    check(C.nvp_actnorm_forward(y.data, x.data, p.logs.data, p.bias.data, x.shape[1], self.d, 1, 0), 2)
    return y, self:buffer("logdet", {x.shape[1]}):fill(p.logs:sum())
end

function TopPrior:inverse(y)
    check_input(self, y, 2)
    local p = self._params
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_actnorm_inverse(x.data, y.data, p.logs.data, p.bias.data, y.shape[1], self.d, 1), 2)
    return x
end

TopPrior.recover = TopPrior.inverse

function TopPrior:backward(x, dy, dlogdet)
    local p, g = self._params, self._grads
    local dx = self:buffer("dx", x.shape)
    check(C.nvp_actnorm_backward(dx.data, g.logs.data, g.bias.data, dy.data, x.data, p.logs.data, p.bias.data,
        x.shape[1], self.d, 1, 0, 0), 2)
    local total = 0
    for i = 0, x.shape[1] - 1 do total = total + dlogdet.data[i] end
    for i = 0, self.d - 1 do g.logs.data[i] = g.logs.data[i] + total end
    return dx
end

function TopPrior:__tostring()
    return ("TopPrior(%dx%dx%d)"):format(self.shape[1], self.shape[2], self.shape[3])
end

registry.register{
    name = "TopPrior", kind = "flow",
    doc = "Glow's learned top prior: a learned mean and log-std per position and channel of the top latent",
    args = {},
    build = function(_, shape)
        return TopPrior.new{shape = shape}, shape
    end,
    profile = {kind = "batchnorm", class = TopPrior, methods = {"forward", "inverse", "backward"}},
    examples = {{args = {}, shape = {2, 3, 2}}},
}

return TopPrior
