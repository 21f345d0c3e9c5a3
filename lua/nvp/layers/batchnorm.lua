-- nvp.layers.batchnorm: batch normalisation over (N, H, W) per channel (Ioffe & Szegedy 2015),
-- optionally fused with a ReLU, as used inside the s/t networks (REFERENCE.md 2.4): training uses
-- the batch mean and biased variance and updates running averages (momentum 0.1, unbiased
-- variance); evaluation uses the running averages.
--
--   x, y: (N, C, H, W)
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local C, check = nffi.C, nffi.check

local BatchNorm = Module.class()

--- cfg: channels, relu (default false), eps (1e-5), momentum (0.1).
function BatchNorm.new(cfg)
    local self = Module.init(setmetatable({}, BatchNorm))
    local c = cfg.channels
    self.channels = c
    self.relu = cfg.relu and 1 or 0
    self.eps = cfg.eps or 1e-5
    self.momentum = cfg.momentum or 0.1
    self:param("gamma", T.full({c}, 1))
    self:param("beta", T.zeros{c})
    self:register_buffer("running_mean", T.zeros{c})
    self:register_buffer("running_var", T.full({c}, 1))
    self.mean = T.zeros{c}     -- statistics used by the last forward (batch or running)
    self.invstd = T.zeros{c}
    return self
end

--- invstd = 1/sqrt(running_var + eps), into self.invstd; mean = running_mean.
function BatchNorm:use_running_stats()
    local rv, m = self._buffers.running_var, self._buffers.running_mean
    for i = 0, self.channels - 1 do
        self.invstd.data[i] = 1 / math.sqrt(rv.data[i] + self.eps)
    end
    ffi.copy(self.mean.data, m.data, self.channels * 4)
end

local function dims(self, x)
    if x.shape[2] ~= self.channels then
        error(("batchnorm: input %s, expected (N,%d,...)"):format(T.shape_string(x.shape), self.channels), 3)
    end
    local hw = 1
    for i = 3, #x.shape do hw = hw * x.shape[i] end
    return x.shape[1], hw
end

function BatchNorm:forward(x, out)
    local n, hw = dims(self, x)
    out = out or self:buffer("y", x.shape)
    local p, b = self._params, self._buffers
    if self.training then
        check(C.nvp_batchnorm_forward_train(out.data, self.mean.data, self.invstd.data, b.running_mean.data,
            b.running_var.data, x.data, p.gamma.data, p.beta.data, n, self.channels, hw, self.eps, self.momentum,
            self.relu), 2)
    else
        self:use_running_stats()
        check(C.nvp_batchnorm_forward_eval(out.data, x.data, p.gamma.data, p.beta.data, self.mean.data,
            self.invstd.data, n, self.channels, hw, self.relu), 2)
    end
    return out
end

--- Accumulate dgamma, dbeta; add dL/dx into dx. dlogdet: see nvp_batchnorm_backward (flow use).
function BatchNorm:backward(x, dy, dx, dlogdet)
    local n, hw = dims(self, x)
    local p, g = self._params, self._grads
    check(C.nvp_batchnorm_backward(dx.data, g.gamma.data, g.beta.data, dy.data, x.data, p.gamma.data, p.beta.data,
        self.mean.data, self.invstd.data, n, self.channels, hw, self.relu, dlogdet or 0, self.training and 1 or 0), 2)
    return dx
end

function BatchNorm:__tostring()
    return ("BatchNorm(%d%s)"):format(self.channels, self.relu == 1 and ", relu" or "")
end

return BatchNorm
