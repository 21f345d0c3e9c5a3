-- nvp.layers.flow_batchnorm: batch normalisation as a flow layer (paper Sec. 3.7, Eq. 12, App. E).
-- In training it normalises with the batch statistics and its log-det counts them:
--   y = gamma (x - mean) / sqrt(var + eps) + beta
--   log-det per sample = H W sum_c [ -1/2 log(var_c + eps) + log |gamma_c| ]
-- In evaluation and in the inverse it uses the running averages (momentum configurable), so the
-- inverse is exact for the evaluation transform.
--
--   x, y: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local BatchNorm = require "nvp.layers.batchnorm"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local FlowBatchNorm = Module.class()

--- cfg: channels, momentum (default 0.1), eps (default 1e-4, as the original code's bn_out).
function FlowBatchNorm.new(cfg)
    local self = Module.init(setmetatable({}, FlowBatchNorm))
    self.channels = cfg.channels
    self.bn = self:add("bn", BatchNorm.new{channels = cfg.channels, momentum = cfg.momentum or 0.1,
                                          eps = cfg.eps or 1e-4})
    return self
end

-- H W sum_c (log invstd_c + log |gamma_c|), the same for every sample.
function FlowBatchNorm:logdet_value(hw)
    local bn = self.bn
    local s = 0
    for c = 0, self.channels - 1 do
        s = s + math.log(bn.invstd.data[c]) + math.log(math.abs(bn._params.gamma.data[c]))
    end
    return hw * s
end

function FlowBatchNorm:forward(x)
    local n, hw = x.shape[1], x.shape[3] * x.shape[4]
    local y = self.bn:forward(x)
    local logdet = self:buffer("logdet", {n}):fill(self:logdet_value(hw))
    return y, logdet
end

function FlowBatchNorm:inverse(y)
    local bn = self.bn
    bn:use_running_stats()
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_batchnorm_inverse(x.data, y.data, bn._params.gamma.data, bn._params.beta.data, bn.mean.data,
        bn.invstd.data, y.shape[1], self.channels, y.shape[3] * y.shape[4]), 2)
    return x
end

--- The input of the last forward from its output, with that forward's statistics (the batch's in
-- training, kept per channel), for recompute-by-inverse; backward then uses the same ones.
function FlowBatchNorm:recover(y)
    local bn = self.bn
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_batchnorm_inverse(x.data, y.data, bn._params.gamma.data, bn._params.beta.data, bn.mean.data,
        bn.invstd.data, y.shape[1], self.channels, y.shape[3] * y.shape[4]), 2)
    return x
end

function FlowBatchNorm:backward(x, dy, dlogdet)
    local dx = self:buffer("dx", x.shape) -- written by the backward below (accumulate = false)
    -- Every sample's log-det is the same value L, so sum_i dlogdet_i * L = mean_i(dlogdet_i) * sum_i L:
    -- the kernel wants the coefficient of the batch's summed log-det.
    local total = 0
    for i = 0, x.shape[1] - 1 do total = total + dlogdet.data[i] end
    self.bn:backward(x, dy, dx, total / x.shape[1], false)
    return dx
end

function FlowBatchNorm:__tostring()
    return ("FlowBatchNorm(%d)"):format(self.channels)
end

registry.register{
    name = "FlowBatchNorm", kind = "flow",
    doc = "batch normalisation as a flow layer (paper Sec. 3.7): batch statistics in training, running "
        .. "averages in evaluation and inverse",
    args = {{"momentum", "number", 0.1, "of the running averages", check = function(v)
                if v <= 0 or v > 1 then return "must be in (0, 1]" end end},
            {"eps", "number", 1e-4, "added to the variance", check = function(v)
                if v <= 0 then return "must be > 0" end end}},
    build = function(args, shape)
        return FlowBatchNorm.new{channels = shape[1], momentum = args.momentum, eps = args.eps}, shape
    end,
    profile = {kind = "batchnorm", class = FlowBatchNorm, methods = {"forward", "inverse", "backward"}},
    -- evaluation mode: the inverse uses the running averages, so only then is it the forward's inverse
    examples = {{args = {}, shape = {3, 2, 3}, evaluate = true, prepare = function(layer, rng)
        rng:uniform(layer.bn._buffers.running_var, 0.5, 2)
        rng:normal(layer.bn._buffers.running_mean)
    end}},
}

return FlowBatchNorm
