-- nvp.layers.actnorm: Glow's activation normalisation (Kingma & Dhariwal 2018, Sec. 3.1; openai/glow
-- model.py `actnorm`): a per-channel affine flow layer
--   y = (x + b_c) exp(logs_c),   log-det per sample = H W sum_c logs_c,   x = y exp(-logs_c) - b_c
-- whose parameters the first training batch initialises so that y has zero mean and standard
-- deviation `scale` per channel (b = -mean, logs = log(scale / (std + 1e-6))). The flag `initialized`
-- is a buffer: it is saved with the parameters, so loading a checkpoint or resuming a run never
-- initialises again (the bug of several Glow ports), and a model evaluated before any training
-- batch is the identity. Over several ranks (nvp.dist) the initial parameters are averaged, so every
-- rank starts from the same ones. The arithmetic is nvp_actnorm_* (engine/src/kernels/actnorm.c).
--
--   x, y: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local ActNorm = Module.class()

--- cfg: channels, scale (the standard deviation after initialisation, default 1), relu (the s/t
-- network's use: a ReLU after the map, no log-det).
function ActNorm.new(cfg)
    local self = Module.init(setmetatable({}, ActNorm))
    self.channels, self.scale, self.relu = cfg.channels, cfg.scale or 1, cfg.relu and 1 or 0
    self:param("logs", T.zeros{cfg.channels})
    self:param("bias", T.zeros{cfg.channels})
    self:register_buffer("initialized", T.zeros{1})
    return self
end

function ActNorm:is_initialized()
    return self._buffers.initialized.data[0] ~= 0
end

local function check_input(self, x, level)
    if #x.shape ~= 4 or x.shape[2] ~= self.channels then
        error(("actnorm: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.channels), level + 1)
    end
end

--- Set the parameters from x (N, C, H, W) (zero mean, standard deviation `scale` per channel) and mark
-- the layer initialised. forward() does this on its first training batch.
function ActNorm:initialize(x)
    check_input(self, x, 2)
    local p = self._params
    check(C.nvp_actnorm_init(p.logs.data, p.bias.data, x.data, x.shape[1], self.channels, x.shape[3] * x.shape[4],
        self.scale, 1e-6), 2)
    local dist = require "nvp.dist"
    local ranks = dist.size()
    if ranks > 1 then
        for _, t in ipairs{p.logs, p.bias} do dist.sum_tensor(t):scale(1 / ranks, 0) end
    end
    self._buffers.initialized.data[0] = 1
    return self
end

function ActNorm:forward(x)
    check_input(self, x, 2)
    if self.training and not self:is_initialized() then self:initialize(x) end
    local n, hw = x.shape[1], x.shape[3] * x.shape[4]
    local p = self._params
    local y = self:buffer("y", x.shape)
    check(C.nvp_actnorm_forward(y.data, x.data, p.logs.data, p.bias.data, n, self.channels, hw, self.relu), 2)
    if self.relu == 1 then return y end
    local s = 0
    for c = 0, self.channels - 1 do s = s + p.logs.data[c] end
    return y, self:buffer("logdet", {n}):fill(hw * s)
end

function ActNorm:inverse(y)
    check_input(self, y, 2)
    local p = self._params
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_actnorm_inverse(x.data, y.data, p.logs.data, p.bias.data, y.shape[1], self.channels,
        y.shape[3] * y.shape[4]), 2)
    return x
end

ActNorm.recover = ActNorm.inverse

--- dy: (N,C,H,W), dlogdet: (N) (ignored with relu). Returns dL/dx (this layer's buffer, or written into
-- `dx` when given); accumulates the parameters' gradients.
function ActNorm:backward(x, dy, dlogdet, dx)
    local n, hw = x.shape[1], x.shape[3] * x.shape[4]
    local p, g = self._params, self._grads
    dx = dx or self:buffer("dx", x.shape)
    check(C.nvp_actnorm_backward(dx.data, g.logs.data, g.bias.data, dy.data, x.data, p.logs.data, p.bias.data, n,
        self.channels, hw, self.relu, 0), 2)
    if self.relu == 0 and dlogdet ~= nil then
        local total = 0
        for i = 0, n - 1 do total = total + dlogdet.data[i] end
        for c = 0, self.channels - 1 do g.logs.data[c] = g.logs.data[c] + hw * total end
    end
    return dx
end

function ActNorm:__tostring()
    return ("ActNorm(%d%s)"):format(self.channels, self.relu == 1 and ", relu" or "")
end

registry.register{
    name = "ActNorm", kind = "flow",
    doc = "Glow's actnorm: per-channel y = (x + b) exp(logs), initialised from the first training batch to "
        .. "zero mean and unit variance (saved as done)",
    args = {{"scale", "number", 1.0, "the per-channel standard deviation after initialisation", check = function(v)
        if v <= 0 then return "must be > 0" end end}},
    build = function(args, shape)
        return ActNorm.new{channels = shape[1], scale = args.scale}, shape
    end,
    profile = {kind = "batchnorm", class = ActNorm, methods = {"forward", "inverse", "backward"}},
    examples = {
        -- initialised by the specs' first forward in training mode (the data-dependent path)
        {args = {}, shape = {3, 3, 5}},
        -- already initialised, with parameters away from the identity
        {args = {scale = 0.5}, shape = {5, 2, 3}, prepare = function(layer, rng)
            rng:normal(layer._params.logs, 0, 0.5)
            rng:normal(layer._params.bias, 0, 1)
            layer._buffers.initialized.data[0] = 1
        end},
    },
}

return ActNorm
