-- nvp.layers.batchnorm: batch normalisation over (N, H, W) per channel (Ioffe & Szegedy 2015),
-- optionally fused with a ReLU, as used inside the s/t networks (docs/REFERENCE.md 2.4): training uses
-- the batch mean and biased variance and updates running averages (momentum 0.1, unbiased
-- variance); evaluation uses the running averages. With `self.sync` set (nvp.dist.sync_batchnorm,
-- train.sync_batchnorm) the training statistics and the backward's sums are those of every rank's
-- part of the batch: the kernel in steps, with the per-channel double sums reduced in between.
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

-- A reusable double array of `count` values for `key`.
function BatchNorm:doubles(key, count)
    local a = self._scratch[key]
    if a == nil or self._scratch[key .. ".count"] ~= count then
        a = ffi.new("double[?]", count)
        self._scratch[key], self._scratch[key .. ".count"] = a, count
    end
    return a
end

-- Training statistics over all ranks: sums of x, then of (x - mean)^2, each summed over ranks.
-- stats: (2C+1) = sum of x, then mean (C); the number of values per channel over all ranks (1);
-- the sum of squares (C).
function BatchNorm:forward_synced(x, out, n, hw, keep_running)
    local c, p, b = self.channels, self._params, self._buffers
    local stats = self:doubles("stats", 2 * c + 1)
    local sumsq = stats + c + 1
    check(C.nvp_batchnorm_moments(stats, nil, x.data, nil, n, c, hw), 3)
    stats[c] = n * hw
    self.sync.sum_f64(stats, c + 1)
    local m = stats[c]
    for ch = 0, c - 1 do stats[ch] = stats[ch] / m end
    check(C.nvp_batchnorm_moments(nil, sumsq, x.data, stats, n, c, hw), 3)
    self.sync.sum_f64(sumsq, c)
    check(C.nvp_batchnorm_finish_stats(self.mean.data, self.invstd.data, not keep_running and b.running_mean.data
        or nil, not keep_running and b.running_var.data or nil, stats, sumsq, m, c, self.eps, self.momentum), 3)
    self.m_total = m
    if out == nil then return nil end -- the statistics only
    check(C.nvp_batchnorm_forward_eval(out.data, x.data, p.gamma.data, p.beta.data, self.mean.data,
        self.invstd.data, n, c, hw, self.relu), 3)
    return out
end

--- keep_running = true: batch statistics in training, but the running averages stay as they are
-- (a forward recomputed for recompute-by-inverse: the first one already moved them).
function BatchNorm:forward(x, out, keep_running)
    local n, hw = dims(self, x)
    out = out or self:buffer("y", x.shape)
    local p, b = self._params, self._buffers
    if self.training and self.sync then
        return self:forward_synced(x, out, n, hw, keep_running)
    elseif self.training then
        local rmean, rvar = b.running_mean.data, b.running_var.data
        if keep_running then rmean, rvar = nil, nil end
        check(C.nvp_batchnorm_forward_train(out.data, self.mean.data, self.invstd.data, rmean, rvar, x.data,
            p.gamma.data, p.beta.data, n, self.channels, hw, self.eps, self.momentum, self.relu), 2)
    else
        self:use_running_stats()
        check(C.nvp_batchnorm_forward_eval(out.data, x.data, p.gamma.data, p.beta.data, self.mean.data,
            self.invstd.data, n, self.channels, hw, self.relu), 2)
    end
    return out
end

--- The statistics a forward would use (batch ones in training, moving the running averages unless
-- keep_running; the running ones in evaluation), without writing the output: for a convolution that
-- applies this batch norm + ReLU to its input as it reads it (nvp_bn_relu; WNConv2d:forward_act).
-- Returns act(), valid until the next call.
function BatchNorm:statistics(x, keep_running)
    local n, hw = dims(self, x)
    local p, b = self._params, self._buffers
    if self.training and self.sync then
        self:forward_synced(x, nil, n, hw, keep_running)
    elseif self.training then
        local rmean, rvar = b.running_mean.data, b.running_var.data
        if keep_running then rmean, rvar = nil, nil end
        check(C.nvp_batchnorm_forward_train(nil, self.mean.data, self.invstd.data, rmean, rvar, x.data,
            p.gamma.data, p.beta.data, n, self.channels, hw, self.eps, self.momentum, self.relu), 2)
    else
        self:use_running_stats()
    end
    return self:act()
end

--- This batch norm + ReLU as an nvp_bn_relu for a convolution's input (the statistics of the last
-- forward or statistics call).
function BatchNorm:act()
    if self.relu ~= 1 then error("batchnorm: act() needs a batch norm fused with ReLU", 2) end
    local a = self._act or ffi.new("nvp_bn_relu")
    self._act = a
    a.mean, a.invstd, a.gamma, a.beta = self.mean.data, self.invstd.data, self._params.gamma.data,
        self._params.beta.data
    return a
end

--- Accumulate dgamma, dbeta; add dL/dx into dx, or write it there with accumulate = false (dx is then
-- never read). dlogdet: see nvp_batchnorm_backward (flow use).
function BatchNorm:backward(x, dy, dx, dlogdet, accumulate)
    local n, hw = dims(self, x)
    local p, g = self._params, self._grads
    if self.training and self.sync then
        -- sums: (4C) = this rank's sum(dyh), sum(dyh xhat) (2C), then the same over all ranks (2C)
        local c = self.channels
        local sums = self:doubles("sums", 4 * c)
        check(C.nvp_batchnorm_backward_sums(sums, dy.data, x.data, p.gamma.data, p.beta.data, self.mean.data,
            self.invstd.data, n, c, hw, self.relu), 2)
        ffi.copy(sums + 2 * c, sums, 2 * c * 8)
        if accumulate == false then dx:zero() end -- the split kernel only accumulates
        self.sync.sum_f64(sums + 2 * c, 2 * c)
        check(C.nvp_batchnorm_backward_apply(dx.data, g.gamma.data, g.beta.data, dy.data, x.data, p.gamma.data,
            p.beta.data, self.mean.data, self.invstd.data, sums, sums + 2 * c, self.m_total, n, c, hw, self.relu,
            dlogdet or 0), 2)
        return dx
    end
    check(C.nvp_batchnorm_backward(dx.data, g.gamma.data, g.beta.data, dy.data, x.data, p.gamma.data, p.beta.data,
        self.mean.data, self.invstd.data, n, self.channels, hw, self.relu, dlogdet or 0, self.training and 1 or 0,
        accumulate == false and 0 or 1), 2)
    return dx
end

function BatchNorm:__tostring()
    return ("BatchNorm(%d%s)"):format(self.channels, self.relu == 1 and ", relu" or "")
end

return BatchNorm
