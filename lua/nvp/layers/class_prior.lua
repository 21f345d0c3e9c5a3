-- nvp.layers.class_prior: Glow's class-conditional prior (`ycond`: openai/glow model.py `prior`, the
-- per-class mean and log-std of the top latent from a zero-initialised linear map of the one-hot label)
-- as a flow layer at the end of the last level: for an image of class k,
--   y = (x + b[k, c]) exp(s[k, c]),  b = -mean, s = -log std: (classes, C), zeros at start;
--   log-det = H W sum_c s[k, c]
-- spatial = true: a mean and log-std per class, channel and position, (classes, C, H, W): a class's mean
-- is a whole latent image (Glow's prior is per channel; a top latent of few channels then carries little
-- of the class), and the model samples at its training size only.
-- so that under the model's standard normal prior on y, log p(z | k) = log N(z; mean_k, std_k^2) per
-- channel. The labels of the batch come from the model (nvp.flow: model:set_labels, or loss(..., labels));
-- p(x | k) for every k (model:class_nll) classifies by likelihood. A batch without labels uses one more
-- learned row, the unconditional one (b[classes], s[classes]), so the model is also a plain density of
-- unlabelled images (and a recipe's smoke step needs none). The arithmetic is the actnorm kernel, one
-- call per image.
--
--   x, y: (N, C, H, W); labels: N integers in [0, classes); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local ClassPrior = Module.class()

--- cfg: classes, channels, spatial (boolean), height and width (of the input; spatial only).
function ClassPrior.new(cfg)
    local self = Module.init(setmetatable({}, ClassPrior))
    self.classes, self.channels, self.spatial = cfg.classes, cfg.channels, cfg.spatial or false
    self.height, self.width = cfg.height, cfg.width
    -- a row of the parameters per class: `row_len` values, each applied to `row_repeat` pixels
    self.row_len = self.spatial and cfg.channels * cfg.height * cfg.width or cfg.channels
    self:param("logs", T.zeros{cfg.classes + 1, self.row_len}) -- row `classes`: no label
    self:param("bias", T.zeros{cfg.classes + 1, self.row_len})
    return self
end

--- labels: a 0-based array (Lua table or FFI array) of N class indices, or nil (no labels).
function ClassPrior:set_labels(labels)
    self.labels = labels
end

local function check_input(self, x, level)
    if self.spatial then
        if #x.shape ~= 4 or x.shape[2] ~= self.channels or x.shape[3] ~= self.height or x.shape[4] ~= self.width then
            error(("class prior: input %s, expected (N,%d,%d,%d) (spatial: its parameters are per position, the "
                .. "model samples at its training size)"):format(T.shape_string(x.shape), self.channels, self.height,
                self.width), level + 1)
        end
    elseif #x.shape ~= 4 or x.shape[2] ~= self.channels then
        error(("class prior: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.channels), level + 1)
    end
end

-- Pixels each parameter applies to: H W per channel, or 1 (spatial).
local function row_repeat(self, x)
    return self.spatial and 1 or x.shape[3] * x.shape[4]
end

-- Image i's class (checked), as an offset into the (classes + 1, row_len) parameters.
local function row(self, i, level)
    if self.labels == nil then return self.classes * self.row_len end
    local k = tonumber(self.labels[i])
    if k == nil or k < 0 or k >= self.classes or k ~= math.floor(k) then
        error(("class prior: label %s of image %d is not a class in [0, %d)"):format(tostring(k), i, self.classes),
            level + 1)
    end
    return k * self.row_len
end

function ClassPrior:forward(x)
    check_input(self, x, 2)
    local n, hw, d = x.shape[1], row_repeat(self, x), x.numel / x.shape[1]
    local p = self._params
    local y = self:buffer("y", x.shape)
    local logdet = self:buffer("logdet", {n})
    for i = 0, n - 1 do
        local k = row(self, i, 2)
        check(C.nvp_actnorm_forward(y.data + i * d, x.data + i * d, p.logs.data + k, p.bias.data + k, 1,
            self.row_len, hw, 0), 2)
        local s = 0
        for c = 0, self.row_len - 1 do s = s + p.logs.data[k + c] end
        logdet.data[i] = hw * s
    end
    return y, logdet
end

function ClassPrior:inverse(y)
    check_input(self, y, 2)
    local n, hw, d = y.shape[1], row_repeat(self, y), y.numel / y.shape[1]
    local p = self._params
    local x = self:buffer("x_inv", y.shape)
    for i = 0, n - 1 do
        local k = row(self, i, 2)
        check(C.nvp_actnorm_inverse(x.data + i * d, y.data + i * d, p.logs.data + k, p.bias.data + k, 1,
            self.row_len, hw), 2)
    end
    return x
end

ClassPrior.recover = ClassPrior.inverse

function ClassPrior:backward(x, dy, dlogdet)
    local n, hw, d = x.shape[1], row_repeat(self, x), x.numel / x.shape[1]
    local p, g = self._params, self._grads
    local dx = self:buffer("dx", x.shape)
    for i = 0, n - 1 do
        local k = row(self, i, 2)
        check(C.nvp_actnorm_backward(dx.data + i * d, g.logs.data + k, g.bias.data + k, dy.data + i * d,
            x.data + i * d, p.logs.data + k, p.bias.data + k, 1, self.row_len, hw, 0, 0), 2)
        for c = 0, self.row_len - 1 do g.logs.data[k + c] = g.logs.data[k + c] + hw * dlogdet.data[i] end
    end
    return dx
end

function ClassPrior:__tostring()
    return ("ClassPrior(%d classes, %d channels%s)"):format(self.classes, self.channels,
        self.spatial and (", per position %dx%d"):format(self.height, self.width) or "")
end

registry.register{
    name = "ClassPrior", kind = "flow",
    doc = "Glow's class-conditional prior (ycond): a learned mean and log-std per class and channel of the top latent",
    args = {{"classes", "integer", 10, "number of classes (labels 0 .. classes - 1)", check = function(v)
        if v < 1 then return "must be >= 1" end end},
        {"spatial", "boolean", false, "a mean and log-std per class, channel and position (not only per channel)"}},
    build = function(args, shape, ctx)
        ctx.classes = args.classes
        return ClassPrior.new{classes = args.classes, channels = shape[1], spatial = args.spatial, height = shape[2],
            width = shape[3]}, shape
    end,
    profile = {kind = "batchnorm", class = ClassPrior, methods = {"forward", "inverse", "backward"}},
    examples = {{args = {classes = 3}, shape = {2, 3, 2}, prepare = function(layer)
        layer:set_labels({[0] = 2, 0, 2, 1})
    end}, {args = {classes = 2}, shape = {3, 2, 2}}, -- the second: no labels (the unconditional row)
        {args = {classes = 3, spatial = true}, shape = {2, 3, 2}, prepare = function(layer)
            layer:set_labels({[0] = 1, 2, 0, 1})
        end}},
}

return ClassPrior
